"""Reading tasks and waiting for them to finish.

A task this process runs is answered from memory (:class:`~vulcain.tasks.live.LiveTasks`);
any other is read from the database, and waited for through the task events.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import anyio.to_thread
from sqlalchemy import func, select

from vulcain.config import Settings
from vulcain.db.database import Database
from vulcain.db.models import TaskRow
from vulcain.errors import NotFound, TooManyRequests
from vulcain.schemas import Account
from vulcain.services.pages import check_page
from vulcain.tasks.events import TaskEvents
from vulcain.tasks.live import LiveTask, LiveTasks
from vulcain.tasks.views import TaskView


class TaskService:
    """The caller's tasks. Another account's task is :class:`vulcain.errors.NotFound`."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        events: TaskEvents,
        live: LiveTasks | None = None,
    ) -> None:
        self._settings = settings
        self._db = db
        self._events = events
        self._live = live
        self._stopping = False
        self._waits: Counter[int] = Counter()
        """Requests of each account held by :meth:`waiting`."""
        self._waits_lock = threading.Lock()

    def stop_waiting(self) -> None:
        """The process is stopping: every wait ends now, answering the task as it is, and
        later ones do not wait (a long-poll must not hold a shutdown)."""
        self._stopping = True
        if self._live is not None:
            self._live.wake_all()
        self._events.wake_all()

    @contextmanager
    def waiting(self, account: Account) -> Iterator[None]:
        """Count one request of ``account`` held until a task finishes (``?wait=``) while
        the block runs. A held request costs no thread, only its connection and a little
        memory; past ``settings.task_waits_per_account`` at once in this process, raise
        :class:`vulcain.errors.TooManyRequests` before anything is done."""
        limit = self._settings.task_waits_per_account
        with self._waits_lock:
            if self._waits[account.id] >= limit:
                raise TooManyRequests(
                    f"This account already has {limit} requests waiting for tasks to finish "
                    "(?wait=), the most it may have at once (VULCAIN_TASK_WAITS_PER_ACCOUNT): "
                    "let one of them answer first, or ask without wait and poll."
                )
            self._waits[account.id] += 1
        try:
            yield
        finally:
            with self._waits_lock:
                self._waits[account.id] -= 1
                if not self._waits[account.id]:
                    del self._waits[account.id]

    async def get(self, account: Account, task_id: int) -> TaskView:
        """The caller's task ``task_id``. An inference this process is running (not merely
        queued) is given ``settings.task_poll_grace_ms`` to finish first, so that a client
        polling without ``wait`` gets its result at the first look."""
        live = self._live_task(account, task_id)
        if live is None:
            return await anyio.to_thread.run_sync(self.read, account, task_id)
        grace = self._settings.task_poll_grace_ms / 1000
        holds = live.pending and live.running and grace > 0 and not self._stopping
        if holds and self._live is not None:
            await self._live.wait(live, grace)
        return live.view()

    def held_seconds(self, wait: float) -> float:
        """How long a request asking to ``wait`` is held: capped by
        ``settings.task_wait_max_seconds``, not at all while the server stops."""
        if self._stopping:
            return 0.0
        return max(0.0, min(float(wait), self._settings.task_wait_max_seconds))

    async def wait(self, account: Account, task_id: int, timeout: float) -> TaskView:
        """The task once it is no longer pending, or as it is after ``timeout`` seconds
        (capped by ``settings.task_wait_max_seconds``). Woken by whoever finishes the task,
        no polling, no thread held while waiting."""
        timeout = self.held_seconds(timeout)
        live = self._live_task(account, task_id)
        if live is not None and self._live is not None:
            await self._live.wait(live, timeout)
            return live.view()
        deadline = time.monotonic() + timeout
        while True:
            with self._events.subscribe(task_id) as finished:
                task = await anyio.to_thread.run_sync(self.read, account, task_id)
                remaining = deadline - time.monotonic()
                if not task.pending or remaining <= 0 or self._stopping:
                    return task
                await finished.wait_async(remaining)

    def read(self, account: Account, task_id: int) -> TaskView:
        """The caller's task ``task_id`` as the database has it."""
        with self._db.session() as session:
            row = session.scalars(
                select(TaskRow).where(TaskRow.id == task_id, TaskRow.account_id == account.id)
            ).one_or_none()
            if row is None:
                raise NotFound(f"There is no task {task_id}.")
            return TaskView.of_row(row)

    def list(
        self, account: Account, task_ids: list[int] | None, *, offset: int, limit: int
    ) -> tuple[int, list[TaskView]]:
        """``(count, page)`` of the caller's tasks, restricted to ``task_ids`` when given,
        ordered by id. A task that ended here and is not stored yet shows its end."""
        check_page(offset, limit)
        conditions = [TaskRow.account_id == account.id]
        if task_ids is not None:
            conditions.append(TaskRow.id.in_(sorted(set(task_ids))))
        with self._db.session() as session:
            count = session.scalar(select(func.count()).select_from(TaskRow).where(*conditions))
            rows = session.scalars(
                select(TaskRow).where(*conditions).order_by(TaskRow.id).offset(offset).limit(limit)
            ).all()
            tasks = [TaskView.of_row(row) for row in rows]
        return count or 0, [self._latest(task) for task in tasks]

    def _latest(self, task: TaskView) -> TaskView:
        live = self._live.get(task.id) if self._live is not None and task.pending else None
        return live.view() if live is not None and not live.pending else task

    def _live_task(self, account: Account, task_id: int) -> LiveTask | None:
        live = self._live.get(task_id) if self._live is not None else None
        return live if live is not None and live.account_id == account.id else None

"""The inference tasks this process runs, in memory, from their acceptance until a little
after their end is stored.

While a task is here, reading it or waiting for it needs no database: a long-poll is an
asyncio future completed by the thread that finished the task, and the answer embeds the
result as it was encoded. A task leaves once its end is committed and it is older than
``keep_seconds`` (or the results kept exceed ``max_bytes``); from then on the database
answers for it, as it does for tasks run by other processes.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from datetime import datetime
from typing import Any

from vulcain.db.models import utcnow
from vulcain.schemas import TaskStatus
from vulcain.tasks.settle import complete
from vulcain.tasks.views import TaskView

KEEP_SECONDS = 5.0
"""Long enough for the reads that follow an answer (a poll, a long-poll); every object
kept longer is one more for the cycle collector to walk, at a thousand tasks a second."""
MAX_BYTES = 64 * 2**20


class LiveTask:
    """One task run here. Its fields change under :class:`LiveTasks`' lock only."""

    __slots__ = (
        "_waiters",
        "account_id",
        "create_date",
        "data",
        "error",
        "id",
        "name",
        "network_id",
        "running",
        "status",
        "stored_at",
        "update_date",
    )

    def __init__(
        self, task_id: int, account_id: int, network_id: int, name: str, create_date: datetime
    ) -> None:
        self.id = task_id
        self.account_id = account_id
        self.network_id = network_id
        self.name = name
        self.create_date = create_date
        self.update_date = create_date
        self.status = TaskStatus.PENDING
        self.error: str | None = None
        self.data: bytes | None = None
        self.running = False
        """The engine is preparing it or running it forward (it is not merely queued)."""
        self.stored_at: float | None = None
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    @property
    def pending(self) -> bool:
        return self.status == TaskStatus.PENDING

    def set_running(self, running: bool) -> None:
        """Whether the engine is working on it (called on the engine's threads)."""
        self.running = running

    def view(self) -> TaskView:
        return TaskView(
            self.id,
            self.name,
            self.status,
            self.error,
            self.data,
            self.create_date,
            self.update_date,
        )


class LiveTasks:
    """Tasks by id (thread-safe): added when handed to the engine, finished by the thread
    that got the result, forgotten some time after their end is stored."""

    def __init__(self, *, keep_seconds: float = KEEP_SECONDS, max_bytes: int = MAX_BYTES) -> None:
        self._keep_seconds = keep_seconds
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._tasks: dict[int, LiveTask] = {}
        self._stored: OrderedDict[int, LiveTask] = OrderedDict()
        self._stored_bytes = 0
        self._held: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]] = set()
        """Requests held for an inference whose task is not written yet
        (:meth:`vulcain.tasks.runner.InferenceRun.settle_within`): woken with ``None``."""

    def add(
        self, task_id: int, account_id: int, network_id: int, name: str, create_date: datetime
    ) -> LiveTask:
        task = LiveTask(task_id, account_id, network_id, name, create_date)
        with self._lock:
            self._tasks[task_id] = task
            self._forget_old(time.monotonic())
        return task

    def get(self, task_id: int) -> LiveTask | None:
        return self._tasks.get(task_id)

    def finish(
        self, task: LiveTask, *, data: bytes | None = None, error: str | None = None
    ) -> bool:
        """End a pending task and wake its waiters; ``False`` if it had ended already."""
        with self._lock:
            if task.status != TaskStatus.PENDING:
                return False
            task.status = TaskStatus.ERROR if error is not None else TaskStatus.SUCCESS
            task.error = error
            task.data = data
            task.update_date = utcnow()
            waiters, task._waiters = task._waiters, []
        for loop, future in waiters:
            loop.call_soon_threadsafe(complete, future)
        return True

    def stored(self, task: LiveTask, written: bool) -> None:
        """The task's end was committed (``written``), or the database had another end
        for it already, which is the truth: forget the task at once then."""
        with self._lock:
            if not written:
                self._tasks.pop(task.id, None)
                return
            task.stored_at = time.monotonic()
            self._stored[task.id] = task
            self._stored_bytes += len(task.data or b"")
            self._forget_old(task.stored_at)

    def fail_network(self, network_id: int, error: str) -> None:
        """End every pending task of a deleted network with ``error`` (the database's
        rows got the same end in the deletion's transaction)."""
        with self._lock:
            doomed = [
                task
                for task in self._tasks.values()
                if task.network_id == network_id and task.status == TaskStatus.PENDING
            ]
        for task in doomed:
            if self.finish(task, error=error):
                self.stored(task, written=True)

    def wake_all(self) -> None:
        """Wake every waiter, whatever its task's state (the process is stopping)."""
        with self._lock:
            waiters = [waiter for task in self._tasks.values() for waiter in task._waiters]
            for task in self._tasks.values():
                task._waiters = []
            waiters += self._held
            self._held = set()
        for loop, future in waiters:
            loop.call_soon_threadsafe(complete, future)

    def hold(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> None:
        """Have :meth:`wake_all` complete ``future`` (with ``None``) until :meth:`release`."""
        with self._lock:
            self._held.add((loop, future))

    def release(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> None:
        with self._lock:
            self._held.discard((loop, future))

    async def wait(self, task: LiveTask, timeout: float) -> None:
        """Return once the task ended, or after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if task.status != TaskStatus.PENDING:
                return
            task._waiters.append((loop, future))
        timer = loop.call_later(max(0.0, timeout), complete, future)
        try:
            await future
        finally:
            timer.cancel()
            with self._lock:
                if (loop, future) in task._waiters:
                    task._waiters.remove((loop, future))

    def _forget_old(self, now: float) -> None:
        """Under the lock: drop stored tasks past their time, oldest first."""
        while self._stored:
            task_id, task = next(iter(self._stored.items()))
            assert task.stored_at is not None
            if now - task.stored_at < self._keep_seconds and self._stored_bytes <= self._max_bytes:
                return
            del self._stored[task_id]
            self._stored_bytes -= len(task.data or b"")
            self._tasks.pop(task_id, None)

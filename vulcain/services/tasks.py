"""Reading tasks and waiting for them to finish."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from vulcain.config import Settings
from vulcain.db.database import Database
from vulcain.db.models import TaskRow
from vulcain.errors import NotFound
from vulcain.schemas import Account, Task
from vulcain.services._pages import check_page
from vulcain.tasks.events import TaskEvents


def to_task(row: TaskRow) -> Task:
    return Task(
        id=row.id,
        name=row.name,
        status=row.status,  # type: ignore[arg-type]
        error=row.error,
        data=row.data,
        create_date=row.create_date,
        update_date=row.update_date,
    )


class TaskService:
    """The caller's tasks. Another account's task is :class:`vulcain.errors.NotFound`."""

    def __init__(self, settings: Settings, db: Database, events: TaskEvents) -> None:
        self._settings = settings
        self._db = db
        self._events = events

    def get(self, account: Account, task_id: int) -> Task:
        """The caller's task ``task_id``."""
        with self._db.session() as session:
            row = session.scalars(
                select(TaskRow).where(TaskRow.id == task_id, TaskRow.account_id == account.id)
            ).one_or_none()
            if row is None:
                raise NotFound(f"There is no task {task_id}.")
            return to_task(row)

    def list(
        self, account: Account, task_ids: list[int] | None, *, offset: int, limit: int
    ) -> tuple[int, list[Task]]:
        """``(count, page)`` of the caller's tasks, restricted to ``task_ids`` when given,
        ordered by id."""
        check_page(offset, limit)
        conditions = [TaskRow.account_id == account.id]
        if task_ids is not None:
            conditions.append(TaskRow.id.in_(sorted(set(task_ids))))
        with self._db.session() as session:
            count = session.scalar(select(func.count()).select_from(TaskRow).where(*conditions))
            rows = session.scalars(
                select(TaskRow).where(*conditions).order_by(TaskRow.id).offset(offset).limit(limit)
            ).all()
            return count or 0, [to_task(row) for row in rows]

    def wait(self, account: Account, task_id: int, timeout: float) -> Task:
        """The task once it is no longer pending, or as it is after ``timeout`` seconds
        (capped by ``settings.task_wait_max_seconds``). Woken by whoever finishes the task,
        no polling. Blocks the calling thread: call it from a worker thread in async code
        (``anyio.to_thread.run_sync``)."""
        timeout = max(0.0, min(float(timeout), self._settings.task_wait_max_seconds))
        deadline = time.monotonic() + timeout
        while True:
            with self._events.subscribe(task_id) as finished:
                task = self.get(account, task_id)
                remaining = deadline - time.monotonic()
                if task.status != "pending" or remaining <= 0:
                    return task
                finished.wait(remaining)

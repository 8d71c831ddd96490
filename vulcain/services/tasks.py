"""Reading tasks and waiting for them to finish."""

from __future__ import annotations

from vulcain.config import Settings
from vulcain.db.database import Database
from vulcain.schemas import Account, Task
from vulcain.tasks.events import TaskEvents


class TaskService:
    """The caller's tasks. Another account's task is :class:`vulcain.errors.NotFound`."""

    def __init__(self, settings: Settings, db: Database, events: TaskEvents) -> None:
        self._settings = settings
        self._db = db
        self._events = events

    def get(self, account: Account, task_id: int) -> Task:
        """The caller's task ``task_id``."""
        raise NotImplementedError

    def list(
        self, account: Account, task_ids: list[int] | None, *, offset: int, limit: int
    ) -> tuple[int, list[Task]]:
        """``(count, page)`` of the caller's tasks, restricted to ``task_ids`` when given,
        ordered by id."""
        raise NotImplementedError

    def wait(self, account: Account, task_id: int, timeout: float) -> Task:
        """The task once it is no longer pending, or as it is after ``timeout`` seconds
        (capped by ``settings.task_wait_max_seconds``). Blocks the calling thread: call it
        from a worker thread in async code (``anyio.to_thread.run_sync``)."""
        raise NotImplementedError

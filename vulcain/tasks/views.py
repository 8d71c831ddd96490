"""A task as the API answers it, whether read from memory or from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson

from vulcain.db.models import TaskRow
from vulcain.schemas import TaskStatus


@dataclass(frozen=True, slots=True)
class TaskView:
    """A task's fields; ``data`` is its JSON text, encoded once when the task ended."""

    id: int
    name: str
    status: TaskStatus
    error: str | None
    data: bytes | None
    create_date: datetime
    update_date: datetime

    @property
    def pending(self) -> bool:
        return self.status == TaskStatus.PENDING

    @classmethod
    def of_row(cls, row: TaskRow) -> TaskView:
        return cls(
            id=row.id,
            name=row.name,
            status=row.status,
            error=row.error,
            data=None if row.data is None else orjson.dumps(row.data),
            create_date=row.create_date,
            update_date=row.update_date,
        )

"""The writes of the inference path, as plain SQL on a DBAPI connection.

Every inference writes two rows when it is accepted and updates one when it ends: at
hundreds per second the ORM's unit of work (and even SQLAlchemy Core's statement
execution) would cost several times the database's own work, so these few statements go
straight to the driver, for SQLite (``sqlite3``) and PostgreSQL (``psycopg``). The tables
are the ones :mod:`vulcain.db.models` declares; values are written the way SQLAlchemy
reads them back (UTC dates, JSON text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PENDING, SUCCESS, ERROR = "pending", "success", "error"
INFERENCE = "inference"


@dataclass(frozen=True)
class NewInference:
    """An inference task to create, with its stored request. The network must still exist
    when the task is written and, when ``public_id`` is set (the caller named the network
    by its slug), still be published under that slug."""

    account_id: int
    network_id: int
    public_id: str | None
    name: str
    create_date: datetime
    body: bytes


@dataclass(frozen=True)
class TaskEnd:
    """The end of a pending task: ``data`` (JSON) on success, ``error`` otherwise."""

    task_id: int
    error: str | None
    data: bytes | None
    update_date: datetime


class TaskWrites:
    """The statements, in the driver's own dialect. Each method runs inside the caller's
    transaction and commits nothing."""

    def __init__(self, dialect: str) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"no task writes for the {dialect} dialect")
        self._postgres = dialect == "postgresql"
        mark = "%s" if self._postgres else "?"
        self._mark = mark
        self._insert_task = (
            "INSERT INTO tasks (account_id, network_id, kind, name, status, create_date, "
            f"update_date) VALUES ({mark}, {mark}, '{INFERENCE}', {mark}, '{PENDING}', "
            f"{mark}, {mark}) RETURNING id"
        )
        self._insert_body = (
            f"INSERT INTO inference_requests (task_id, body) VALUES ({mark}, {mark})"
        )
        data = f"{mark}::json" if self._postgres else mark
        self._finish = (
            f"UPDATE tasks SET status = {mark}, error = {mark}, data = {data}, "
            f"update_date = {mark} WHERE id = {mark} AND status = '{PENDING}' RETURNING kind"
        )

    def insert_inferences(self, cursor: Any, tasks: Sequence[NewInference]) -> list[int | None]:
        """Insert the tasks and their requests; the id of each, or ``None`` for a task
        whose network is gone or no longer published under the slug it was named by
        (nothing of it is left written)."""
        rows = []
        for task in tasks:
            date = self._date(task.create_date)
            rows.append((task.account_id, task.network_id, task.name, date, date))
        ids = [int(row[0]) for row in self._each_returning(cursor, self._insert_task, rows)]
        cursor.executemany(
            self._insert_body,
            [(task_id, task.body) for task_id, task in zip(ids, tasks, strict=True)],
        )
        published = self._networks(cursor, {task.network_id for task in tasks})
        kept: list[int | None] = []
        for task_id, task in zip(ids, tasks, strict=True):
            visible = task.network_id in published and (
                task.public_id is None or published[task.network_id] == task.public_id
            )
            kept.append(task_id if visible else None)
        gone = [(task_id,) for task_id, kept_id in zip(ids, kept, strict=True) if kept_id is None]
        if gone:
            cursor.executemany(f"DELETE FROM inference_requests WHERE task_id = {self._mark}", gone)
            cursor.executemany(f"DELETE FROM tasks WHERE id = {self._mark}", gone)
        return kept

    def _networks(self, cursor: Any, network_ids: set[int]) -> dict[int, str | None]:
        """``{id: public_id}`` of the networks among ``network_ids`` that exist."""
        ordered = sorted(network_ids)
        marks = ", ".join([self._mark] * len(ordered))
        cursor.execute(f"SELECT id, public_id FROM networks WHERE id IN ({marks})", ordered)
        return {int(row[0]): row[1] for row in cursor.fetchall()}

    def finish(self, cursor: Any, ends: Sequence[TaskEnd]) -> list[str | None]:
        """Record each end while its task is still pending: the kind of each task written
        (``deploy``, ``inference``), ``None`` for one that was not pending any more."""
        rows = [
            (
                ERROR if end.error is not None else SUCCESS,
                end.error,
                end.data.decode("utf-8") if end.data is not None else None,
                self._date(end.update_date),
                end.task_id,
            )
            for end in ends
        ]
        return [
            None if row is None else str(row[0])
            for row in self._each_returning(cursor, self._finish, rows)
        ]

    def _each_returning(self, cursor: Any, sql: str, rows: list[tuple[Any, ...]]) -> list[Any]:
        """The one row (or ``None``) that ``sql`` returns for each of ``rows``: in a single
        round trip on PostgreSQL, one statement after the other in SQLite's process."""
        if not self._postgres:
            results = []
            for row in rows:
                cursor.execute(sql, row)
                results.append(cursor.fetchone())
            return results
        cursor.executemany(sql, rows, returning=True)
        results = [cursor.fetchone()]
        while cursor.nextset():
            results.append(cursor.fetchone())
        return results

    def _date(self, value: datetime) -> datetime | str:
        value = value.astimezone(UTC)
        if self._postgres:
            return value
        # SQLAlchemy's SQLite DateTime storage format (read back by UtcDateTime as UTC).
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")

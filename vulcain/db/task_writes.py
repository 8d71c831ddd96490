"""Every write of a task's state: the one module that creates tasks and changes their status.

A task is created ``pending`` and ends once, in ``success`` (with its ``data``) or in
``error`` (with the sentence its user reads). An end is written only while the task is
still pending, so a second end is refused: its writer is told (``None`` from
:meth:`TaskWrites.finish`, ``False`` from :func:`finish_task`) and the first end stays.
Besides its own end, a pending task ends in error when its network is deleted
(:func:`fail_network_tasks`), or at a start when the request it was to run was lost
(:func:`recover`); tasks still pending at a start are run again, and a pending task's
``update_date`` is moved forward when it is published again (:func:`claim_stale`). Only
finished inference tasks are ever deleted (:func:`delete_finished_inferences`).

Two kinds of writers share these rules:

- the inference path (:class:`TaskWrites`): every inference writes two rows when it is
  accepted and updates one when it ends (one that ended while its request was held,
  ``?wait``, is written once, already ended, with no request stored); at hundreds per
  second the ORM's unit of work (and even SQLAlchemy Core's statement execution) would
  cost several times the
  database's own work, so these few statements go straight to the driver, for SQLite
  (``sqlite3``) and PostgreSQL (``psycopg``), with values written the way SQLAlchemy
  reads them back (UTC dates, JSON text);
- everything else (deployments, deletions, recovery, maintenance): functions running in
  the caller's ORM session and transaction, so a task's end commits together with what
  goes with it (the deployed network's tensors, the deleted network's row).

None of them commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import CursorResult, delete, exists, select, update
from sqlalchemy.orm import Session

from vulcain.db.models import InferenceRequestRow, TaskRow, utcnow
from vulcain.schemas import TaskKind, TaskStatus

_PENDING, _INFERENCE = TaskStatus.PENDING.value, TaskKind.INFERENCE.value


@dataclass(frozen=True)
class Ended:
    """How a task ended: ``data`` (JSON) on success, ``error`` otherwise."""

    error: str | None
    data: bytes | None
    update_date: datetime

    @property
    def status(self) -> TaskStatus:
        return TaskStatus.ERROR if self.error is not None else TaskStatus.SUCCESS


@dataclass(frozen=True)
class NewInference:
    """An inference task to create: pending, with its stored request (``body``), or
    already ``ended``, with no request stored (it never runs again). The network must
    still exist when the task is written and, when ``public_id`` is set (the caller named
    the network by its slug), still be published under that slug."""

    account_id: int
    network_id: int
    public_id: str | None
    name: str
    create_date: datetime
    body: bytes | None
    ended: Ended | None = None


@dataclass(frozen=True)
class TaskEnd:
    """The end of a pending task: ``data`` (JSON) on success, ``error`` otherwise."""

    task_id: int
    error: str | None
    data: bytes | None
    update_date: datetime


class TaskWrites:
    """The inference path's statements, in the driver's own dialect. Each method runs
    inside the caller's transaction (a DBAPI cursor) and commits nothing."""

    def __init__(self, dialect: str) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"no task writes for the {dialect} dialect")
        self._postgres = dialect == "postgresql"
        mark = "%s" if self._postgres else "?"
        self._mark = mark
        self._insert_task = (
            "INSERT INTO tasks (account_id, network_id, kind, name, status, create_date, "
            f"update_date) VALUES ({mark}, {mark}, '{_INFERENCE}', {mark}, '{_PENDING}', "
            f"{mark}, {mark}) RETURNING id"
        )
        self._insert_body = (
            f"INSERT INTO inference_requests (task_id, body) VALUES ({mark}, {mark})"
        )
        data = f"{mark}::json" if self._postgres else mark
        self._insert_ended = (
            "INSERT INTO tasks (account_id, network_id, kind, name, status, error, data, "
            f"create_date, update_date) VALUES ({mark}, {mark}, '{_INFERENCE}', {mark}, "
            f"{mark}, {mark}, {data}, {mark}, {mark}) RETURNING id"
        )
        self._finish = (
            f"UPDATE tasks SET status = {mark}, error = {mark}, data = {data}, "
            f"update_date = {mark} WHERE id = {mark} AND status = '{_PENDING}' RETURNING kind"
        )

    def insert_inferences(self, cursor: Any, tasks: Sequence[NewInference]) -> list[int | None]:
        """Insert the tasks, and the requests of the pending ones; the id of each, or
        ``None`` for a task whose network is gone or no longer published under the slug it
        was named by (nothing of it is left written)."""
        ids = [0] * len(tasks)
        pending = [index for index, task in enumerate(tasks) if task.ended is None]
        ended = [index for index, task in enumerate(tasks) if task.ended is not None]
        for sql, indexes, row in (
            (self._insert_task, pending, self._pending_row),
            (self._insert_ended, ended, self._ended_row),
        ):
            rows = [row(tasks[index]) for index in indexes]
            for index, found in zip(indexes, self._each_returning(cursor, sql, rows), strict=True):
                ids[index] = int(found[0])
        if pending:
            bodies = [(ids[index], tasks[index].body) for index in pending]
            cursor.executemany(self._insert_body, bodies)
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

    def _pending_row(self, task: NewInference) -> tuple[Any, ...]:
        date = self._date(task.create_date)
        return (task.account_id, task.network_id, task.name, date, date)

    def _ended_row(self, task: NewInference) -> tuple[Any, ...]:
        ended = task.ended
        assert ended is not None
        return (
            task.account_id,
            task.network_id,
            task.name,
            ended.status.value,
            ended.error,
            ended.data.decode("utf-8") if ended.data is not None else None,
            self._date(task.create_date),
            self._date(ended.update_date),
        )

    def finish(self, cursor: Any, ends: Sequence[TaskEnd]) -> list[TaskKind | None]:
        """Record each end while its task is still pending: the kind of each task written,
        ``None`` for one refused because it was not pending any more (ended already)."""
        rows = [
            (
                (TaskStatus.ERROR if end.error is not None else TaskStatus.SUCCESS).value,
                end.error,
                end.data.decode("utf-8") if end.data is not None else None,
                self._date(end.update_date),
                end.task_id,
            )
            for end in ends
        ]
        return [
            None if row is None else TaskKind(row[0])
            for row in self._each_returning(cursor, self._finish, rows)
        ]

    def _each_returning(self, cursor: Any, sql: str, rows: list[tuple[Any, ...]]) -> list[Any]:
        """The one row (or ``None``) that ``sql`` returns for each of ``rows``: in a single
        round trip on PostgreSQL, one statement after the other in SQLite's process."""
        if not rows:
            return []
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


def add_deploy_task(session: Session, account_id: int) -> TaskRow:
    """A new pending deployment task (flushed: its id is set, for the network row to
    refer to); :func:`attach_deploy_task` ties it to that row once it exists."""
    task = TaskRow(
        account_id=account_id,
        kind=TaskKind.DEPLOY,
        name="deploy network",
        status=TaskStatus.PENDING,
    )
    session.add(task)
    session.flush()
    return task


def attach_deploy_task(task: TaskRow, network_id: int) -> None:
    """The deployment task of network ``network_id``, named after it."""
    task.network_id = network_id
    task.name = f"deploy network {network_id}"


def finish_task(
    session: Session,
    task_id: int,
    *,
    data: dict[str, Any] | None = None,
    error: str | None = None,
) -> bool:
    """End the task in ``error`` when ``error`` is set, in ``success`` with ``data``
    otherwise, if it is still pending; ``False`` when refused (it had ended already)."""
    status = TaskStatus.ERROR if error is not None else TaskStatus.SUCCESS
    result = session.execute(
        update(TaskRow)
        .where(TaskRow.id == task_id, TaskRow.status == TaskStatus.PENDING)
        .values(status=status, error=error, data=data, update_date=utcnow())
    )
    return _changed(result)


def fail_network_tasks(session: Session, network_id: int, error: str) -> list[int]:
    """End every pending task of network ``network_id`` (being deleted) in ``error``;
    the ids of the tasks ended."""
    pending = session.scalars(
        select(TaskRow.id).where(
            TaskRow.network_id == network_id, TaskRow.status == TaskStatus.PENDING
        )
    ).all()
    _fail(session, pending, error)
    return list(pending)


class Recovered(NamedTuple):
    """What :func:`recover` found: tasks to run again, and inferences ended in error."""

    pending: list[int]
    lost: list[int]


def recover(session: Session, lost_error: str) -> Recovered:
    """At a start, the tasks a stop left pending: every pending inference whose stored
    request is gone ends in ``lost_error``; the others, in id order, are to run again."""
    lost = session.scalars(
        select(TaskRow.id).where(
            TaskRow.status == TaskStatus.PENDING,
            TaskRow.kind == TaskKind.INFERENCE,
            ~exists().where(InferenceRequestRow.task_id == TaskRow.id),
        )
    ).all()
    _fail(session, lost, lost_error)
    pending = session.scalars(
        select(TaskRow.id).where(TaskRow.status == TaskStatus.PENDING).order_by(TaskRow.id)
    ).all()
    return Recovered(list(pending), list(lost))


def claim_stale(session: Session, older_than: datetime, limit: int) -> list[int]:
    """Up to ``limit`` tasks pending since before ``older_than``, in id order, about to be
    published again: their ``update_date`` becomes now, so that their age counts from
    this publish."""
    stale = session.scalars(
        select(TaskRow.id)
        .where(TaskRow.status == TaskStatus.PENDING, TaskRow.update_date < older_than)
        .order_by(TaskRow.id)
        .limit(limit)
    ).all()
    if stale:
        session.execute(
            update(TaskRow)
            .where(TaskRow.id.in_(stale), TaskRow.status == TaskStatus.PENDING)
            .values(update_date=utcnow())
        )
    return list(stale)


def delete_finished_inferences(session: Session, older_than: datetime, limit: int) -> int:
    """Delete up to ``limit`` ended inference tasks last updated before ``older_than``,
    with their stored requests; how many were deleted (pending tasks and deployments are
    never deleted)."""
    ids = session.scalars(
        select(TaskRow.id)
        .where(
            TaskRow.kind == TaskKind.INFERENCE,
            TaskRow.status != TaskStatus.PENDING,
            TaskRow.update_date < older_than,
        )
        .limit(limit)
    ).all()
    if ids:
        session.execute(delete(InferenceRequestRow).where(InferenceRequestRow.task_id.in_(ids)))
        session.execute(delete(TaskRow).where(TaskRow.id.in_(ids)))
    return len(ids)


def _fail(session: Session, task_ids: Sequence[int], error: str) -> None:
    if task_ids:
        session.execute(
            update(TaskRow)
            .where(TaskRow.id.in_(task_ids), TaskRow.status == TaskStatus.PENDING)
            .values(status=TaskStatus.ERROR, error=error, update_date=utcnow())
        )


def _changed(result: object) -> bool:
    """Whether an UPDATE changed a row (``Session.execute`` is typed as returning a plain
    ``Result``; an UPDATE's is a ``CursorResult``, which has the row count)."""
    return isinstance(result, CursorResult) and result.rowcount > 0

"""The task state rules of :mod:`vulcain.db.task_writes`, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from tests.rows import add_network_row
from vulcain.db.database import Database
from vulcain.db.models import AccountRow, InferenceRequestRow, TaskRow, utcnow
from vulcain.db.task_writes import (
    Ended,
    NewInference,
    TaskEnd,
    TaskWrites,
    add_deploy_task,
    claim_stale,
    fail_network_tasks,
    finish_task,
    recover,
)
from vulcain.schemas import TaskKind, TaskStatus

_names = itertools.count()


@pytest.fixture
def account_id(db: Database) -> int:
    name = f"tasks-{next(_names)}"
    with db.session() as session:
        row = AccountRow(name=name, app_id=name, api_key_hash=name.ljust(64, "x"))
        session.add(row)
        session.flush()
        return row.id


def add_task(
    db: Database, account_id: int, kind: TaskKind, *, network_id: int | None = None
) -> int:
    with db.session() as session:
        row = TaskRow(account_id=account_id, kind=kind, name="t", network_id=network_id)
        session.add(row)
        session.flush()
        if kind == TaskKind.INFERENCE:
            session.add(InferenceRequestRow(task_id=row.id, body=b"{}"))
        return row.id


def read(db: Database, task_id: int) -> TaskRow:
    with db.session() as session:
        row = session.get(TaskRow, task_id)
        assert row is not None
        session.expunge(row)
        return row


def finish_raw(db: Database, ends: list[TaskEnd]) -> list[TaskKind | None]:
    """The inference path's write: :class:`TaskWrites` on a DBAPI connection."""
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        written = TaskWrites(db.dialect).finish(cursor, ends)
        cursor.close()
        connection.commit()
        return written
    finally:
        connection.close()


def test_a_new_task_is_pending_and_reads_back_as_enum_members(db: Database, account_id: int):
    with db.session() as session:
        task_id = add_deploy_task(session, account_id).id
    row = read(db, task_id)
    assert row.status is TaskStatus.PENDING and row.kind is TaskKind.DEPLOY
    assert row.status == "pending" and row.kind == "deploy"


def test_a_status_outside_the_enum_is_refused(db: Database, account_id: int):
    refused = pytest.raises(StatementError, match="'finished' is not a valid TaskStatus")
    with refused, db.session() as session:
        session.add(TaskRow(account_id=account_id, kind="deploy", name="t", status="finished"))


def test_the_inference_path_writes_an_end_once_and_refuses_a_second(db: Database, account_id: int):
    task_id = add_task(db, account_id, TaskKind.INFERENCE)
    first = TaskEnd(task_id, None, b'{"tensors": []}', utcnow())
    second = TaskEnd(task_id, "too late", None, utcnow())
    assert finish_raw(db, [first]) == [TaskKind.INFERENCE]
    assert finish_raw(db, [second]) == [None]
    row = read(db, task_id)
    assert row.status is TaskStatus.SUCCESS
    assert row.error is None and row.data == {"tensors": []}


def test_two_ends_of_one_task_in_one_group_write_the_first(db: Database, account_id: int):
    task_id = add_task(db, account_id, TaskKind.INFERENCE)
    ends = [TaskEnd(task_id, "first", None, utcnow()), TaskEnd(task_id, None, b"{}", utcnow())]
    assert finish_raw(db, ends) == [TaskKind.INFERENCE, None]
    row = read(db, task_id)
    assert row.status is TaskStatus.ERROR and row.error == "first"


def test_a_session_writes_an_end_once_and_refuses_a_second(db: Database, account_id: int):
    task_id = add_task(db, account_id, TaskKind.DEPLOY)
    with db.session() as session:
        assert finish_task(session, task_id, error="the files are not a network")
    with db.session() as session:
        assert not finish_task(session, task_id, data={"inputs": []})
    assert not finish_raw(db, [TaskEnd(task_id, None, b"{}", utcnow())])[0]
    row = read(db, task_id)
    assert row.status is TaskStatus.ERROR and row.error == "the files are not a network"
    assert row.data is None


def test_deleting_a_network_fails_its_pending_tasks_only(db: Database, account_id: int):
    network_id = 10**6 + next(_names)
    pending = [add_task(db, account_id, kind, network_id=network_id) for kind in TaskKind]
    ended = add_task(db, account_id, TaskKind.INFERENCE, network_id=network_id)
    other = add_task(db, account_id, TaskKind.INFERENCE, network_id=network_id + 1)
    with db.session() as session:
        assert finish_task(session, ended, data={"tensors": []})
    with db.session() as session:
        assert sorted(fail_network_tasks(session, network_id, "gone")) == sorted(pending)
    for task_id in pending:
        row = read(db, task_id)
        assert row.status is TaskStatus.ERROR and row.error == "gone"
    assert read(db, ended).status is TaskStatus.SUCCESS
    assert read(db, other).status is TaskStatus.PENDING


def test_recovery_fails_inferences_whose_request_is_gone_and_runs_the_rest(
    db: Database, account_id: int
):
    deploy = add_task(db, account_id, TaskKind.DEPLOY)
    kept = add_task(db, account_id, TaskKind.INFERENCE)
    lost = add_task(db, account_id, TaskKind.INFERENCE)
    with db.session() as session:
        session.delete(session.get(InferenceRequestRow, lost))
    with db.session() as session:
        pending, failed = recover(session, "request gone")
    assert lost in failed and lost not in pending
    assert {deploy, kept} <= set(pending) and pending == sorted(pending)
    row = read(db, lost)
    assert row.status is TaskStatus.ERROR and row.error == "request gone"
    assert read(db, kept).status is TaskStatus.PENDING


def test_claiming_stale_tasks_moves_their_date_and_leaves_ended_ones(db: Database, account_id: int):
    stale = add_task(db, account_id, TaskKind.INFERENCE)
    ended = add_task(db, account_id, TaskKind.INFERENCE)
    with db.session() as session:
        assert finish_task(session, ended, error="failed")
    claimed_at = utcnow()
    assert read(db, stale).update_date < claimed_at
    with db.session() as session:
        claimed = claim_stale(session, claimed_at + timedelta(seconds=1), 10**6)
    assert stale in claimed and ended not in claimed
    assert read(db, stale).update_date >= claimed_at
    assert read(db, ended).update_date < claimed_at


def test_an_inference_whose_network_is_gone_is_not_written(db: Database, account_id: int):
    task = NewInference(account_id, 10**9, None, "orphan", utcnow(), b"{}")
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        assert TaskWrites(db.dialect).insert_inferences(cursor, [task]) == [None]
        connection.commit()
    finally:
        connection.close()
    with db.session() as session:
        assert session.scalar(select(TaskRow.id).where(TaskRow.name == "orphan")) is None


def test_an_inference_written_ended_keeps_its_end_and_no_request(db: Database, account_id: int):
    with db.session() as session:
        network_id = add_network_row(session, account_id)
    created, ended_at = utcnow(), utcnow() + timedelta(seconds=1)
    tasks = [
        NewInference(
            account_id,
            network_id,
            None,
            "held ok",
            created,
            None,
            Ended(None, b'{"a": [1]}', ended_at),
        ),
        NewInference(account_id, network_id, None, "pending", created, b'{"inputs": []}'),
        NewInference(
            account_id,
            network_id,
            None,
            "held bad",
            created,
            None,
            Ended("no image", None, ended_at),
        ),
    ]
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        ids = TaskWrites(db.dialect).insert_inferences(cursor, tasks)
        connection.commit()
    finally:
        connection.close()
    assert all(isinstance(task_id, int) for task_id in ids) and len(set(ids)) == 3
    rows = [read(db, task_id) for task_id in ids]
    assert [row.name for row in rows] == ["held ok", "pending", "held bad"]  # in order
    assert [row.status for row in rows] == [
        TaskStatus.SUCCESS,
        TaskStatus.PENDING,
        TaskStatus.ERROR,
    ]
    assert rows[0].data == {"a": [1]} and rows[0].error is None
    assert rows[2].error == "no image" and rows[2].data is None
    assert rows[0].update_date > rows[0].create_date
    with db.session() as session:
        stored = session.scalars(
            select(InferenceRequestRow.task_id).where(InferenceRequestRow.task_id.in_(ids))
        )
        assert list(stored) == [ids[1]]

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select, text

from vulcain.db.database import Database, advisory_lock
from vulcain.db.models import AccountRow, TaskRow


def test_migrations_create_every_table_and_run_twice(db: Database):
    db.migrate()
    tables = set(inspect(db.engine).get_table_names())
    assert {"accounts", "tasks", "inference_requests", "networks", "network_files", "blobs"} <= (
        tables
    )
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


def stored_create_date(db: Database, name: str, create_date: datetime) -> datetime:
    """Write an account created at ``create_date``; read its date back in a new session."""
    with db.session() as session:
        row = AccountRow(
            name=name, app_id=f"{name}-app", api_key_hash=name[0] * 64, create_date=create_date
        )
        session.add(row)
        session.flush()
        account_id = row.id
    with db.session() as session:
        stored = session.get(AccountRow, account_id)
        assert stored is not None
        return stored.create_date


def test_dates_come_back_aware_in_utc(db: Database):
    local = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    stored = stored_create_date(db, "dates", local)
    assert stored == local
    assert stored.utcoffset() == timedelta(0)
    assert stored.hour == 10


def test_session_rolls_back_on_error(db: Database):
    with pytest.raises(RuntimeError), db.session() as session:
        session.add(AccountRow(name="ghost", app_id="ghost-app", api_key_hash="g" * 64))
        session.flush()
        raise RuntimeError("boom")
    with db.session() as session:
        assert session.scalar(select(AccountRow).where(AccountRow.app_id == "ghost-app")) is None


def test_many_threads_write_at_once(db: Database):
    with db.session() as session:
        owner = AccountRow(name="threads", app_id="threads-app", api_key_hash="t" * 64)
        session.add(owner)
        session.flush()
        owner_id = owner.id
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            for step in range(5):
                with db.session() as session:
                    session.add(
                        TaskRow(account_id=owner_id, kind="inference", name=f"t{index}-{step}")
                    )
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.session() as session:
        names = session.scalars(select(TaskRow.name).where(TaskRow.account_id == owner_id)).all()
    assert len(names) == 40


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'nested' / 'vulcain.db'}")
    db.migrate()
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() >= 1000
    db.close()


def test_now_is_stored_with_microseconds(db: Database):
    moment = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert stored_create_date(db, "micro", moment) == moment


def test_advisory_lock_is_held_until_the_transaction_ends(db: Database):
    key = 0x74657374
    with db.session() as holder:
        assert advisory_lock(holder, key)
        with db.session() as other:
            expected = db.dialect != "postgresql"
            assert advisory_lock(other, key, wait=False) is expected
    with db.session() as other:
        assert advisory_lock(other, key, wait=False)
    with db.engine.connect() as connection:
        assert advisory_lock(connection, key)
        connection.commit()

"""Migrations on a SQLite database holding rows: a table rebuild keeps every row."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from vulcain.db.database import Database
from vulcain.db.migrate import alembic_config, upgrade
from vulcain.db.models import Base

_DATE = "'2024-01-01 00:00:00'"


def _insert_rows_of_revision_0001(db: Database) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO accounts (id, name, app_id, api_key_hash, is_admin, create_date) "
                f"VALUES (1, 'a', 'app', 'hash', 0, {_DATE})"
            )
        )
        for task_id in (1, 2, 3):
            connection.execute(
                text(
                    "INSERT INTO tasks (id, account_id, kind, name, status, create_date, "
                    f"update_date) VALUES ({task_id}, 1, 'inference', 't', 'pending', {_DATE}, "
                    f"{_DATE})"
                )
            )
            connection.execute(
                text(f"INSERT INTO inference_requests (task_id, body) VALUES ({task_id}, x'00')")
            )
        connection.execute(
            text(
                "INSERT INTO networks (id, account_id, name, description, metadata, framework, "
                f"preprocessing, task_id, create_date, update_date) VALUES (7, 1, 'n', '', '{{}}', "
                f"'onnx', '{{}}', 1, {_DATE}, {_DATE})"
            )
        )


def test_sqlite_ids_become_never_reused_and_no_row_is_lost(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'vulcain.db'}")
    try:
        upgrade(db.engine, "0001")
        _insert_rows_of_revision_0001(db)
        db.migrate()
        with db.engine.begin() as connection:
            count = connection.execute(text("SELECT count(*) FROM inference_requests")).scalar()
            assert count == 3
            assert connection.execute(text("SELECT id FROM networks")).scalars().all() == [7]
            assert connection.execute(text("PRAGMA foreign_key_check")).fetchall() == []
            connection.execute(text("DELETE FROM networks"))
            connection.execute(text("DELETE FROM tasks WHERE id = 3"))
            connection.execute(
                text(
                    "INSERT INTO tasks (account_id, kind, name, status, create_date, "
                    f"update_date) VALUES (1, 'inference', 't', 'pending', {_DATE}, {_DATE})"
                )
            )
            assert connection.execute(text("SELECT max(id) FROM tasks")).scalar() == 4
        with db.engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        db.close()


def test_the_migrated_schema_is_the_models_schema_and_downgrades(database_url: str):
    """Every table, column, index and key the models declare, on SQLite and PostgreSQL;
    the recognition revision goes down and up again."""

    db = Database(database_url)
    try:
        db.migrate()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert compare_metadata(context, Base.metadata) == []
        with db.engine.connect() as connection:
            config = alembic_config(db.engine)
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")
            connection.commit()
        assert "recognition_specs" not in inspect(db.engine).get_table_names()
        db.migrate()
        assert {"recognition_specs", "recognition_versions"} <= set(
            inspect(db.engine).get_table_names()
        )
    finally:
        db.close()

"""Applying the Alembic migrations of ``vulcain/db/migrations`` to a database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from vulcain.db.database import advisory_lock

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_ID = 0x76756C63  # "vulc": serialises migrations of processes starting together,
# held by the transaction that runs them (Alembic joins the transaction it is handed)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema of ``engine``'s database to ``revision``."""
    if engine.dialect.name == "sqlite":
        _upgrade_sqlite(engine, revision)
        return
    with engine.connect() as connection:
        advisory_lock(connection, _PG_LOCK_ID)
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def _upgrade_sqlite(engine: Engine, revision: str) -> None:
    """With foreign keys off, so that a migration rebuilding a table (SQLite's only way to
    change most of a table) does not cascade the drop of the old table to rows referring to
    it; the keys are checked once the migrations are done."""
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        try:
            config = alembic_config(engine)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migrated database has broken foreign keys: {broken}")
        finally:
            connection.rollback()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()

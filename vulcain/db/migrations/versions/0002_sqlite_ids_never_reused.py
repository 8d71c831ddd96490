"""SQLite: network and task ids are never reused (AUTOINCREMENT); nothing to do elsewhere.

SQLite cannot change a table's primary key in place, so both tables are rebuilt (batch
mode copies the rows). Foreign keys are off during the rebuild (see
:func:`vulcain.db.migrate.upgrade`), so dropping the old ``tasks`` table does not cascade
to the stored inference requests.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 03:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TABLES = ("tasks", "networks")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in _TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)

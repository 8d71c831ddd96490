"""Recognition specifications and versions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recognition_specs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("current_version_id", sa.Integer(), nullable=True),
        sa.Column("public_id", sa.String(length=128), nullable=True),
        sa.Column("create_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_date", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_recognition_specs_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recognition_specs")),
        sa.UniqueConstraint("public_id", name=op.f("uq_recognition_specs_public_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_recognition_specs_account_id_id",
        "recognition_specs",
        ["account_id", "id"],
        unique=False,
    )
    op.create_table(
        "recognition_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("spec_id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("post_processings", sa.JSON(), nullable=False),
        sa.Column("create_date", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_recognition_versions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["spec_id"],
            ["recognition_specs.id"],
            name=op.f("fk_recognition_versions_spec_id_recognition_specs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_recognition_versions_network_id_networks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recognition_versions")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_recognition_versions_account_id_id",
        "recognition_versions",
        ["account_id", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_recognition_versions_spec_id"), "recognition_versions", ["spec_id"], unique=False
    )
    op.create_index(
        op.f("ix_recognition_versions_network_id"),
        "recognition_versions",
        ["network_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_recognition_versions_network_id"), table_name="recognition_versions")
    op.drop_index(op.f("ix_recognition_versions_spec_id"), table_name="recognition_versions")
    op.drop_index("ix_recognition_versions_account_id_id", table_name="recognition_versions")
    op.drop_table("recognition_versions")
    op.drop_index("ix_recognition_specs_account_id_id", table_name="recognition_specs")
    op.drop_table("recognition_specs")

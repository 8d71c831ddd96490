"""Initial schema: accounts, tasks, stored inference requests, networks, their files, blobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 01:55:05.392133
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("api_key_hash", sa.String(length=64), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("create_date", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("api_key_hash", name=op.f("uq_accounts_api_key_hash")),
        sa.UniqueConstraint("app_id", name=op.f("uq_accounts_app_id")),
    )
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("create_date", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blobs")),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("create_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_date", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_tasks_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index("ix_tasks_account_id_id", "tasks", ["account_id", "id"], unique=False)
    op.create_index(op.f("ix_tasks_network_id"), "tasks", ["network_id"], unique=False)
    op.create_index(
        "ix_tasks_status_kind_update_date", "tasks", ["status", "kind", "update_date"], unique=False
    )

    op.create_table(
        "inference_requests",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_inference_requests_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_inference_requests")),
    )
    op.create_table(
        "networks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("framework", sa.String(length=64), nullable=False),
        sa.Column("preprocessing", sa.JSON(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=128), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=True),
        sa.Column("outputs", sa.JSON(), nullable=True),
        sa.Column("create_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_date", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_networks_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_networks_task_id_tasks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_networks")),
        sa.UniqueConstraint("public_id", name=op.f("uq_networks_public_id")),
    )
    op.create_index("ix_networks_account_id_id", "networks", ["account_id", "id"], unique=False)

    op.create_table(
        "network_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_network_files_network_id_networks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_files")),
        sa.UniqueConstraint("network_id", "name", name=op.f("uq_network_files_network_id_name")),
    )
    op.create_index(op.f("ix_network_files_sha256"), "network_files", ["sha256"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_network_files_sha256"), table_name="network_files")

    op.drop_table("network_files")
    op.drop_index("ix_networks_account_id_id", table_name="networks")

    op.drop_table("networks")
    op.drop_table("inference_requests")
    op.drop_index("ix_tasks_status_kind_update_date", table_name="tasks")
    op.drop_index(op.f("ix_tasks_network_id"), table_name="tasks")
    op.drop_index("ix_tasks_account_id_id", table_name="tasks")

    op.drop_table("tasks")
    op.drop_table("blobs")
    op.drop_table("accounts")

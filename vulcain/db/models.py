"""SQLAlchemy models: accounts, networks, their files, blobs, tasks, stored requests, and
recognition specifications and versions.

Every change to these tables needs an Alembic migration in ``vulcain/db/migrations``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from vulcain.schemas import TaskKind, TaskStatus

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite returns naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_Enum = TypeVar("_Enum", bound=StrEnum)


class StrEnumText(TypeDecorator[_Enum]):
    """A ``StrEnum`` stored as its value in a ``VARCHAR(16)``, read back as the member (an
    unknown value fails loudly on write and on read)."""

    impl = String(16)
    cache_ok = True

    def __init__(self, enum_class: type[_Enum]) -> None:
        super().__init__()
        self.enum_class = enum_class

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> _Enum | None:
        return None if value is None else self.enum_class(value)


_NEVER_REUSE_IDS: dict[str, Any] = {"sqlite_autoincrement": True}
"""SQLite otherwise hands the id of the newest deleted row to the next insert: a client
holding that id (or a worker caching that network's model) would see another object.
PostgreSQL sequences never reuse ids."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON}


class AccountRow(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    app_id: Mapped[str] = mapped_column(String(64), unique=True)
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    create_date: Mapped[datetime] = mapped_column(default=utcnow)


class TaskRow(Base):
    """A deployment or inference task: the single truth of its status, which only
    :mod:`vulcain.db.task_writes` changes.

    ``network_id`` is a plain column, not a foreign key: a task outlives the network it
    was about (its result stays readable after the network is deleted).
    """

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    network_id: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[TaskKind] = mapped_column(StrEnumText(TaskKind))
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[TaskStatus] = mapped_column(StrEnumText(TaskStatus), default=TaskStatus.PENDING)
    error: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    create_date: Mapped[datetime] = mapped_column(default=utcnow)
    update_date: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_tasks_account_id_id", "account_id", "id"),
        Index("ix_tasks_status_kind_update_date", "status", "kind", "update_date"),
        _NEVER_REUSE_IDS,
    )


class InferenceRequestRow(Base):
    """The stored body of an inference request (images included) until its task is purged."""

    __tablename__ = "inference_requests"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    body: Mapped[bytes] = mapped_column(LargeBinary)


class NetworkRow(Base):
    __tablename__ = "networks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    framework: Mapped[str] = mapped_column(String(64))
    preprocessing: Mapped[dict[str, Any]] = mapped_column(JSON)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    public_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    # Every tensor name of the deployed network (thousands for TensorFlow): loaded only when
    # read, which only the checks of an inference request do.
    inputs: Mapped[list[Any] | None] = mapped_column(JSON, deferred=True)
    outputs: Mapped[list[Any] | None] = mapped_column(JSON, deferred=True)
    create_date: Mapped[datetime] = mapped_column(default=utcnow)
    update_date: Mapped[datetime] = mapped_column(default=utcnow)

    files: Mapped[list[NetworkFileRow]] = relationship(
        back_populates="network", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (Index("ix_networks_account_id_id", "account_id", "id"), _NEVER_REUSE_IDS)


class NetworkFileRow(Base):
    __tablename__ = "network_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)

    network: Mapped[NetworkRow] = relationship(back_populates="files")

    __table_args__ = (UniqueConstraint("network_id", "name"),)


class BlobRow(Base):
    """One stored blob. Its row is the lock that orders uploads and removals of the blob."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    create_date: Mapped[datetime] = mapped_column(default=utcnow)


class RecognitionSpecRow(Base):
    """A recognition specification: the labels of each output. ``current_version_id`` is a
    plain column kept by the service (a foreign key to the versions, which refer to the
    spec, would make the two tables refer to each other)."""

    __tablename__ = "recognition_specs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    outputs: Mapped[list[Any]] = mapped_column(JSON)
    current_version_id: Mapped[int | None] = mapped_column(Integer)
    public_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    create_date: Mapped[datetime] = mapped_column(default=utcnow)
    update_date: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_recognition_specs_account_id_id", "account_id", "id"),
        _NEVER_REUSE_IDS,
    )


class RecognitionVersionRow(Base):
    """A network bound to a spec with the post-processing of each of the spec's outputs."""

    __tablename__ = "recognition_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    spec_id: Mapped[int] = mapped_column(
        ForeignKey("recognition_specs.id", ondelete="CASCADE"), index=True
    )
    network_id: Mapped[int] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True
    )
    post_processings: Mapped[list[Any]] = mapped_column(JSON)
    create_date: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_recognition_versions_account_id_id", "account_id", "id"),
        _NEVER_REUSE_IDS,
    )

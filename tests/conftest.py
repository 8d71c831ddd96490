"""Fixtures shared by every test folder.

``database_url`` runs a test module once on SQLite and once on a fresh PostgreSQL
database (created for the module, dropped after it); ``settings`` points a whole
Vulcain process at it with a temporary data folder.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from vulcain.config import Settings
from vulcain.schemas import Account
from vulcain.services import Services

POSTGRES_SERVER = os.environ.get("VULCAIN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


def _admin_connection() -> psycopg.Connection:
    return psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of the PostgreSQL server the tests use (``VULCAIN_TEST_POSTGRES``)."""
    try:
        with _admin_connection():
            pass
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_SERVER}: {error}")
    return POSTGRES_SERVER


@pytest.fixture(scope="module")
def postgres_database_url(postgres_server: str) -> Iterator[str]:
    """A SQLAlchemy URL of a new, empty PostgreSQL database, dropped after the module."""
    name = f"vulcain_test_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    server = postgres_server.split("://", 1)[1]
    yield f"postgresql+psycopg://{server}/{name}"
    with _admin_connection() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database for the module: a SQLite file, then a fresh PostgreSQL database. Tests of
    a module share it, so each test creates its own accounts and names."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'vulcain.db'}"
    return request.getfixturevalue("postgres_database_url")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings of a process on ``database_url`` with its own data folder under
    ``tmp_path / "data"`` (blobs, engine files), two workers and no ``.env`` file."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        database_url=database_url,
        storage_url="",
        workers=2,
        bootstrap_api_key=None,
        task_wait_max_seconds=30,
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """A started :class:`Services` on the test database (first-start output captured)."""
    services = Services(settings, out=io.StringIO())
    services.start()
    yield services
    services.close()


@pytest.fixture
def account(services: Services) -> Account:
    return services.accounts.create(f"user-{uuid.uuid4().hex[:8]}")[0]


@pytest.fixture
def other_account(services: Services) -> Account:
    return services.accounts.create(f"other-{uuid.uuid4().hex[:8]}")[0]


@pytest.fixture
def admin(services: Services) -> Account:
    return services.accounts.create(f"admin-{uuid.uuid4().hex[:8]}", admin=True)[0]

"""Fixtures shared by every test folder, and the summary of suites skipped because a
service they need does not answer (tests/external.py).

``database_url`` runs a test module once on SQLite and once on a fresh PostgreSQL
database (created for the module, dropped after it); ``settings`` points a whole
Vulcain process at it with a temporary data folder.
"""

from __future__ import annotations

import io
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.external import (
    POSTGRES_SERVER,
    REQUIRE_VARIABLE,
    SERVICES,
    require,
    services_required,
)
from vulcain.config import Settings
from vulcain.db.database import Database
from vulcain.schemas import Account
from vulcain.services import Services


def _admin_connection() -> psycopg.Connection:
    return psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of the PostgreSQL server the tests use (``VULCAIN_TEST_POSTGRES``)."""
    require("PostgreSQL")
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


@pytest.fixture(scope="module")
def db(database_url: str) -> Iterator[Database]:
    """``database_url`` migrated, for tests that read and write rows themselves."""
    database = Database(database_url)
    database.migrate()
    yield database
    database.close()


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


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> Iterator[None]:
    """Say last, after the short summary, which suites were skipped for a missing service
    and why."""
    yield
    missing = SERVICES.missing()
    if not missing or services_required():
        return
    terminalreporter.section("suites skipped: services not reachable", sep="=", yellow=True)
    skipped = terminalreporter.stats.get("skipped", [])
    for service in missing:
        reason = service.reason()
        files = Counter(
            report.nodeid.split("::", 1)[0]
            for report in skipped
            if isinstance(report.longrepr, tuple) and reason in str(report.longrepr[2])
        )
        terminalreporter.write_line(f"{reason}: {service.error}")
        terminalreporter.write_line(
            f"  {sum(files.values())} tests skipped; set {service.variable} to use another server"
        )
        for path, count in sorted(files.items()):
            terminalreporter.write_line(f"  {path}: {count} skipped")
    terminalreporter.write_line(f"{REQUIRE_VARIABLE}=1 (set by .ci/run) makes them fail instead.")

"""The external services some suites need (PostgreSQL, RabbitMQ, Redis, and Chromium for the
web console's browser tests): where the tests
look for them, whether they answer, and what a test does when one does not.

A test that needs a service calls :func:`require`. When the service does not answer, the
test is skipped with a sentence naming the service, its address and the error, and
``make test`` ends with a summary of what was skipped and why. With
``VULCAIN_REQUIRE_SERVICES=1`` (``.ci/run`` sets it) the same test fails instead, so CI
never passes by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
import pytest
import redis

POSTGRES_SERVER = os.environ.get("VULCAIN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
RABBITMQ = os.environ.get("VULCAIN_TEST_RABBITMQ", "127.0.0.1:5672")
REDIS = os.environ.get("VULCAIN_TEST_REDIS", "redis://127.0.0.1:6379")
CHROMIUM = os.environ.get("VULCAIN_TEST_CHROMIUM", "/usr/bin/chromium")
REQUIRE_VARIABLE = "VULCAIN_REQUIRE_SERVICES"
CONNECT_TIMEOUT_S = 5


def services_required() -> bool:
    """Whether a missing service fails its tests instead of skipping them."""
    return os.environ.get(REQUIRE_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def _probe_postgres() -> None:
    with psycopg.connect(
        f"{POSTGRES_SERVER}/postgres", autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
    ):
        pass


def _probe_rabbitmq() -> None:
    host, _, port = RABBITMQ.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
        pass
    # The tests create a virtual host per session with rabbitmqctl (run as root).
    if shutil.which("rabbitmqctl") is None:
        raise OSError("rabbitmqctl is not on PATH")


def _probe_redis() -> None:
    client = redis.Redis.from_url(REDIS, socket_connect_timeout=CONNECT_TIMEOUT_S)
    try:
        client.ping()
    finally:
        client.close()


def _probe_chromium() -> None:
    # Debian's package: Playwright downloads no browser here.
    if shutil.which(CHROMIUM) is None:
        raise OSError(f"no Chromium executable at {CHROMIUM}: apt-get install -y chromium")
    import playwright.sync_api  # noqa: F401  (in the test extra: pip install -e '.[test]')


@dataclass
class Service:
    name: str
    address: str
    variable: str
    probe: Callable[[], None]
    checked: bool = False
    error: str | None = None

    def unavailable(self) -> str | None:
        """Why the service cannot be used (probed once per session), or None."""
        if not self.checked:
            self.checked = True
            try:
                self.probe()
            except Exception as error:  # any failure to reach it is a reason to skip
                self.error = " ".join(str(error).split()) or type(error).__name__
        return self.error

    def reason(self) -> str:
        """The skip reason of each test that needs the service (the error is in the summary)."""
        return f"{self.name} is not reachable at {self.address}"


@dataclass
class Services:
    known: dict[str, Service] = field(default_factory=dict)

    def add(self, service: Service) -> None:
        self.known[service.name] = service

    def missing(self) -> list[Service]:
        return [service for service in self.known.values() if service.error is not None]


SERVICES = Services()
SERVICES.add(Service("PostgreSQL", POSTGRES_SERVER, "VULCAIN_TEST_POSTGRES", _probe_postgres))
SERVICES.add(Service("RabbitMQ", RABBITMQ, "VULCAIN_TEST_RABBITMQ", _probe_rabbitmq))
SERVICES.add(Service("Redis", REDIS, "VULCAIN_TEST_REDIS", _probe_redis))
SERVICES.add(Service("Chromium", CHROMIUM, "VULCAIN_TEST_CHROMIUM", _probe_chromium))


def require(name: str) -> None:
    """Skip the calling test when the service ``name`` does not answer (fail it when
    ``VULCAIN_REQUIRE_SERVICES`` is set)."""
    service = SERVICES.known[name]
    if service.unavailable() is None:
        return
    if services_required():
        pytest.fail(
            f"{service.reason()} ({service.error}) and {REQUIRE_VARIABLE} makes it mandatory"
        )
    pytest.skip(service.reason())

"""Task events across processes: two event objects stand for two replicas."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.servers import free_port
from vulcain.db.database import Database
from vulcain.tasks.shared_events import (
    PG_CHANNEL,
    PollingTaskEvents,
    PostgresTaskEvents,
    RedisTaskEvents,
)

pytestmark = pytest.mark.scaleout

PROMPT_S = 1.0


def _woken_within(events, task_id: int, notify, timeout: float = 10.0) -> float:
    """Seconds between ``notify()`` and the waiter on ``events`` waking."""
    with events.subscribe(task_id) as finished:
        started = time.monotonic()
        notify()
        assert finished.wait(timeout), "the waiter was not woken"
        return time.monotonic() - started


@pytest.fixture
def postgres_pair(postgres_database_url: str) -> Iterator[tuple[PostgresTaskEvents, ...]]:
    databases = [Database(postgres_database_url) for _ in range(2)]
    pair = tuple(PostgresTaskEvents(db) for db in databases)
    yield pair
    for events, db in zip(pair, databases, strict=True):
        events.close()
        db.close()


def test_postgres_notify_on_one_replica_wakes_a_waiter_on_another(postgres_pair):
    replica_a, replica_b = postgres_pair
    assert _woken_within(replica_b, 41, lambda: replica_a.notify(41)) < PROMPT_S
    assert not replica_a.listening  # a process that only notifies opens no listener


def test_postgres_other_tasks_do_not_wake_a_waiter(postgres_pair):
    replica_a, replica_b = postgres_pair
    with replica_b.subscribe(1) as finished:
        replica_a.notify(2)
        assert not finished.wait(0.5)


def test_postgres_listener_reconnects_and_wakes_waiters(postgres_pair, postgres_database_url):
    replica_a, replica_b = postgres_pair
    with replica_b.subscribe(7) as finished:
        conninfo = postgres_database_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE %s AND pid <> pg_backend_pid()",
                (f'LISTEN "{PG_CHANNEL}"%',),
            ).fetchall()
        assert killed, "no listener connection found"
        # Reconnecting wakes every waiter, so each reads its task again.
        assert finished.wait(10)
    deadline = time.monotonic() + 10
    while not replica_b.listening and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _woken_within(replica_b, 8, lambda: replica_a.notify(8)) < PROMPT_S


def test_redis_publish_on_one_replica_wakes_a_waiter_on_another(redis_url):
    replica_a = RedisTaskEvents(redis_url, channel=f"test-{redis_url}")
    replica_b = RedisTaskEvents(redis_url, channel=f"test-{redis_url}")
    try:
        assert _woken_within(replica_b, 5, lambda: replica_a.notify(5)) < PROMPT_S
        with replica_b.subscribe(6) as finished:
            replica_a.notify(99)
            assert not finished.wait(0.3)
    finally:
        replica_a.close()
        replica_b.close()


def test_a_listener_that_cannot_connect_delays_only_the_first_subscribe():
    db = Database(f"postgresql+psycopg://vulcain@127.0.0.1:{free_port()}/nowhere")
    events = PostgresTaskEvents(db, ready_timeout=1.0)
    try:
        started = time.monotonic()
        with events.subscribe(1):
            pass
        first = time.monotonic() - started
        started = time.monotonic()
        for _ in range(5):
            with events.subscribe(1):
                pass
        later = time.monotonic() - started
    finally:
        events.close()
        db.close()
    assert not events.listening
    assert first >= 0.9
    assert later < 0.5


def test_polling_events_wake_waiters_periodically_and_locally_at_once():
    events = PollingTaskEvents(0.3)
    try:
        assert _woken_within(events, 3, lambda: events.notify(3)) < 0.1
        with events.subscribe(4) as finished:
            started = time.monotonic()
            assert finished.wait(5)
            assert time.monotonic() - started < 1.0
    finally:
        events.close()


def test_closing_wakes_remaining_waiters(postgres_pair):
    _, replica_b = postgres_pair
    woken = threading.Event()

    def wait() -> None:
        with replica_b.subscribe(11) as finished:
            if finished.wait(10):
                woken.set()

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.3)
    replica_b.close()
    thread.join(5)
    assert woken.is_set()

"""Task events shared by every process of a deployment (API replicas and workers).

Whoever finishes a task publishes its id (PostgreSQL ``NOTIFY`` or Redis ``PUBLISH``) from a
publisher thread, which sends every id queued meanwhile in one round trip (a task's end
is committed on the task store's thread, which must not wait for the network);
each process that has long-polls waiting runs one listener thread, with its own
connection, that wakes the local waiters. The listener starts at the first
:meth:`~TaskEvents.subscribe` (workers only publish, so they never open one), and
reconnects after any error; once listening again it wakes every waiter, which reads its
task again, so a notification sent while the connection was down is not missed for long.

:class:`PollingTaskEvents` serves SQLite with a broker, where neither exists: it wakes
every waiter every few seconds to read its task again.
"""

from __future__ import annotations

import logging
import threading
from abc import abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from queue import SimpleQueue

import psycopg
import redis
from sqlalchemy import text
from sqlalchemy.engine import make_url

from vulcain.db.database import Database
from vulcain.tasks.events import LocalTaskEvents, TaskEvents, Wakeup

log = logging.getLogger(__name__)

PG_CHANNEL = "vulcain_task_done"
READY_TIMEOUT_S = 5.0
RECONNECT_MAX_S = 5.0
IDLE_CHECK_S = 1.0


class ListeningTaskEvents(TaskEvents):
    """Local waiters fed by a listener thread; subclasses publish and listen.
    ``ready_timeout``: how long the first subscriber waits for the listener to connect."""

    def __init__(self, name: str, *, ready_timeout: float = READY_TIMEOUT_S) -> None:
        self._local = LocalTaskEvents()
        self._name = name
        self._ready_timeout = ready_timeout
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outbox: SimpleQueue[int | None] = SimpleQueue()
        self._publisher = threading.Thread(
            target=self._publish_loop, name=f"{name}-publish", daemon=True
        )
        self._publisher.start()

    @abstractmethod
    def _publish(self, task_ids: list[int]) -> None:
        """Tell every process that ``task_ids`` finished."""

    @abstractmethod
    def _listen(self, deliver: Callable[[str], None], ready: Callable[[], None]) -> None:
        """Connect, call ``ready()`` once listening, then ``deliver(payload)`` for each
        message until ``self._stop`` is set (return) or the connection fails (raise)."""

    def notify(self, task_id: int) -> None:
        self._local.notify(task_id)
        self._outbox.put(task_id)

    def _publish_loop(self) -> None:
        while (first := self._outbox.get()) is not None:
            task_ids = [first]
            while not self._outbox.empty():
                next_id = self._outbox.get()
                if next_id is None:
                    self._publish_logged(task_ids)
                    return
                task_ids.append(next_id)
            self._publish_logged(task_ids)

    def _publish_logged(self, task_ids: list[int]) -> None:
        try:
            self._publish(task_ids)
        except Exception:
            log.warning(
                "could not publish that tasks %s finished; waiters elsewhere see them on "
                "their next check",
                task_ids,
                exc_info=True,
            )

    @contextmanager
    def subscribe(self, task_id: int) -> Iterator[Wakeup]:
        self._ensure_listening()
        with self._local.subscribe(task_id) as event:
            yield event

    def start(self) -> None:
        self._ensure_listening()

    def wake_all(self) -> None:
        self._local.wake_all()

    @property
    def listening(self) -> bool:
        return self._ready.is_set()

    def _ensure_listening(self) -> None:
        with self._lock:
            starting = self._thread is None and not self._stop.is_set()
            if starting:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
        # Give a new listener a moment to connect. Later subscribers never wait, even while
        # it reconnects: once listening again it wakes every waiter to read its task again.
        if starting:
            self._ready.wait(self._ready_timeout)

    def _loop(self) -> None:
        delay = 0.1
        while not self._stop.is_set():
            try:
                self._listen(self._deliver, self._on_ready)
            except Exception as error:
                if self._stop.is_set():
                    break
                log.warning("task event listener lost its connection (%s); reconnecting", error)
            self._ready.clear()
            self._stop.wait(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)

    def _on_ready(self) -> None:
        self._ready.set()
        self._local.wake_all()

    def _deliver(self, payload: str) -> None:
        try:
            task_id = int(payload)
        except ValueError:
            return
        self._local.notify(task_id)

    def close(self) -> None:
        self._outbox.put(None)
        self._publisher.join(timeout=IDLE_CHECK_S * 5)
        self._stop.set()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=IDLE_CHECK_S * 5)
        self._local.wake_all()


class PostgresTaskEvents(ListeningTaskEvents):
    """``NOTIFY`` through the database's pool; ``LISTEN`` on a connection of its own."""

    def __init__(
        self, db: Database, *, channel: str = PG_CHANNEL, ready_timeout: float = READY_TIMEOUT_S
    ) -> None:
        super().__init__("vulcain-pg-listen", ready_timeout=ready_timeout)
        self._db = db
        self._channel = channel
        url = make_url(db.url).set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)

    def _publish(self, task_ids: list[int]) -> None:
        with self._db.engine.begin() as connection:
            connection.execute(
                text("SELECT pg_notify(:channel, id::text) FROM unnest(:ids) AS id"),
                {"channel": self._channel, "ids": task_ids},
            )

    def _listen(self, deliver: Callable[[str], None], ready: Callable[[], None]) -> None:
        with psycopg.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=5,
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        ) as connection:
            connection.execute(f'LISTEN "{self._channel}"')
            ready()
            while not self._stop.is_set():
                for message in connection.notifies(timeout=IDLE_CHECK_S):
                    deliver(message.payload)
                # notifies() returns quietly on timeout: make a dead connection raise.
                connection.execute("SELECT 1")


class RedisTaskEvents(ListeningTaskEvents):
    """Redis pub/sub on ``channel`` (channels ignore the database number: name it per
    deployment)."""

    def __init__(self, url: str, *, channel: str, ready_timeout: float = READY_TIMEOUT_S) -> None:
        super().__init__("vulcain-redis-listen", ready_timeout=ready_timeout)
        self._url = url
        self._channel = channel
        self._client = redis.Redis.from_url(url, socket_connect_timeout=5)

    def _publish(self, task_ids: list[int]) -> None:
        with self._client.pipeline(transaction=False) as pipeline:
            for task_id in task_ids:
                pipeline.publish(self._channel, str(task_id))
            pipeline.execute()

    def _listen(self, deliver: Callable[[str], None], ready: Callable[[], None]) -> None:
        client = redis.Redis.from_url(
            self._url, socket_connect_timeout=5, socket_keepalive=True, health_check_interval=10
        )
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self._channel)
            ready()
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=IDLE_CHECK_S)
                if message is not None and message["type"] == "message":
                    data = message["data"]
                    deliver(data.decode() if isinstance(data, bytes) else str(data))
                pubsub.check_health()
        finally:
            pubsub.close()
            client.close()

    def close(self) -> None:
        super().close()
        self._client.close()


class PollingTaskEvents(TaskEvents):
    """Local notifications, plus a wake-up of every waiter each ``interval`` seconds so
    tasks finished by other processes are seen (one read per waiter per interval)."""

    def __init__(self, interval: float) -> None:
        self._local = LocalTaskEvents()
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vulcain-poll-wake", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._local.wake_all()

    def notify(self, task_id: int) -> None:
        self._local.notify(task_id)

    def wake_all(self) -> None:
        self._local.wake_all()

    @contextmanager
    def subscribe(self, task_id: int) -> Iterator[Wakeup]:
        with self._local.subscribe(task_id) as event:
            yield event

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._local.wake_all()

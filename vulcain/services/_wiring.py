"""Building every part of a Vulcain process from its settings."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TextIO

from vulcain.config import Settings
from vulcain.db.database import Database
from vulcain.inference.engine import Engine
from vulcain.inference.settings import EngineSettings
from vulcain.metrics import Metrics, serve_metrics
from vulcain.services._catalog import NetworkCatalog
from vulcain.services.accounts import AccountService
from vulcain.services.direct import DirectInference
from vulcain.services.networks import NetworkService
from vulcain.services.recognition import RecognitionService
from vulcain.services.tasks import TaskService
from vulcain.storage import BlobStore, open_storage
from vulcain.tasks.events import LocalTaskEvents, TaskEvents
from vulcain.tasks.live import LiveTasks
from vulcain.tasks.maintenance import PurgeLoop, ResubmitLoop, recover_pending
from vulcain.tasks.queue import InProcessQueue, TaskQueue
from vulcain.tasks.runner import TaskRunner
from vulcain.tasks.shared_events import PollingTaskEvents, PostgresTaskEvents, RedisTaskEvents
from vulcain.tasks.store import TaskStore

log = logging.getLogger(__name__)


def open_events(settings: Settings, db: Database) -> TaskEvents:
    """How a process learns that a task finished: PostgreSQL LISTEN/NOTIFY on PostgreSQL
    (replicas share it), else Redis pub/sub with a Redis broker, else with any other broker
    a periodic re-read, else (one process) in-process events."""
    if db.dialect == "postgresql":
        return PostgresTaskEvents(db)
    if settings.broker_url.startswith(("redis://", "rediss://")):
        return RedisTaskEvents(settings.broker_url, channel=f"{settings.task_queue}.task-done")
    if settings.broker_url:
        return PollingTaskEvents(settings.events_poll_seconds)
    return LocalTaskEvents()


def open_blob_store(settings: Settings) -> BlobStore:
    """The store ``settings.storage_url`` names; remote files are cached in
    ``<data_dir>/blob-cache``."""
    return open_storage(
        settings.storage_url,
        cache_dir=settings.data_dir.expanduser().absolute() / "blob-cache",
        cache_bytes=settings.blob_cache_bytes,
        s3_endpoint_url=settings.s3_endpoint_url or None,
    )


def open_queue(settings: Settings, runner: TaskRunner) -> TaskQueue:
    """The broker's queue when ``settings.broker_url`` is set (this process only
    publishes), else in-process threads running tasks with ``runner``."""
    if settings.broker_url:
        from vulcain.tasks.celery_queue import CeleryQueue

        return CeleryQueue(settings)
    return InProcessQueue(
        settings.workers,
        runner.start,
        runner.begin_inference,
        retry_seconds=settings.task_resubmit_seconds,
    )


class Services:
    """Everything a process needs, wired from ``settings``. The optional arguments replace
    a part (another store, queue, engine or event channel); by default the embedded
    stack is built: SQLite or the configured database, a local folder, in-process threads.
    With ``broker_url`` set the queue publishes to the broker and ``vulcain worker``
    processes (:meth:`start_worker`) run the tasks; ``s3://`` storage and shared task
    events follow the settings the same way (:func:`open_blob_store`, :func:`open_events`).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        storage: BlobStore | None = None,
        engine: Engine | None = None,
        events: TaskEvents | None = None,
        queue: TaskQueue | None = None,
        out: TextIO | None = None,
    ) -> None:
        self.settings = settings
        self._out = out
        # VULCAIN_METRICS=false records nothing, not only serves nothing.
        self.metrics = Metrics() if settings.metrics else None
        self._stop_metrics: Callable[[], None] | None = None
        self.db = Database(settings.database_url)
        self.storage = storage or open_blob_store(settings)
        self.engine = engine or Engine(
            EngineSettings.from_settings(settings), self.storage.path, self.metrics
        )
        self.events = events or open_events(settings, self.db)
        self.store = TaskStore(self.db)
        # Tasks are kept in memory where they run: not in a process that hands them to a
        # broker (API replica), nor in a worker, which answers no request.
        self.live = None if settings.broker_url else LiveTasks()
        self.runner = TaskRunner(
            self.db, self.engine, self.events, self.store, self.live, self.metrics, self.storage
        )
        self.queue = queue or open_queue(settings, self.runner)
        self.accounts = AccountService(self.db, cache_seconds=settings.auth_cache_seconds)
        catalog = NetworkCatalog(self.db)
        self.networks = NetworkService(
            settings,
            self.db,
            self.storage,
            self.queue,
            self.engine,
            self.events,
            self.store,
            self.live,
            catalog,
        )
        self.direct = DirectInference(catalog, self.engine, settings.fetch_max_bytes)
        self.recognition = RecognitionService(settings, self.db, self.networks)
        self.tasks = TaskService(settings, self.db, self.events, self.live)
        self._purge = PurgeLoop(self.db, settings)
        self._resubmit = (
            ResubmitLoop(self.db, self.queue, self.queue.backlog, settings.task_resubmit_seconds)
            if self.queue.durable
            else None
        )
        self._started = False

    def start(self) -> None:
        """Apply migrations, make sure an admin exists, start the queue, re-submit tasks a
        crash left pending, and start the purge of old inference tasks."""
        self.db.migrate()
        self.bootstrap_accounts()
        self.events.start()
        self.queue.start()
        self._serve_metrics()
        self._started = True
        if not self.queue.durable:
            recover_pending(self.db, self.queue, self.events)
        if self._resubmit is not None:
            self._resubmit.start()
        self._purge.start()

    def start_worker(self) -> None:
        """Prepare a ``vulcain worker`` process: apply migrations (so a worker may start
        first); tasks arrive from the broker and run through :attr:`runner`. Its metrics
        are served on ``settings.metrics_port`` when set."""
        self.db.migrate()
        self._serve_metrics()
        self._started = True

    def _serve_metrics(self) -> None:
        if self.metrics is not None and self.settings.metrics_port and self._stop_metrics is None:
            self._stop_metrics = serve_metrics(
                self.metrics, self.settings.host, self.settings.metrics_port
            )

    def bootstrap_accounts(self) -> None:
        """``VULCAIN_BOOTSTRAP_API_KEY`` makes sure that admin exists; otherwise a database
        with no account gets an admin whose key is printed once on standard output."""
        if self.settings.bootstrap_api_key:
            self.accounts.ensure_admin(self.settings.bootstrap_api_key)
            return
        if self.accounts.exists_any():
            return
        created = self.accounts.create_first_admin("admin")
        if created is None:
            return
        account, api_key = created
        out = self._out or sys.stdout
        out.write(
            "\n"
            "=== Vulcain: created the first admin account ===\n"
            f"  name:    {account.name}\n"
            f"  app id:  {account.app_id}\n"
            f"  API key: {api_key}\n"
            "Keep this key: it is shown only once. Send it as the X-API-KEY header.\n"
            "\n"
        )
        out.flush()

    def stop_waiting(self) -> None:
        """The process is stopping: long-polls answer now (:meth:`TaskService.stop_waiting`)."""
        self.tasks.stop_waiting()

    def ready(self) -> bool:
        """Whether the process can serve requests (started and its database reachable)."""
        if not self._started:
            return False
        try:
            self.db.ping()
        except Exception:
            log.warning("database unreachable", exc_info=True)
            return False
        return True

    def close(self) -> None:
        """Stop the purge and the queue (running tasks finish), then release everything."""
        self._started = False
        if self._stop_metrics is not None:
            self._stop_metrics()
            self._stop_metrics = None
        if self._resubmit is not None:
            self._resubmit.close()
        self._purge.close()
        self.queue.close()
        self.engine.close()
        self.store.close()
        self.events.close()
        self.storage.close()
        self.db.close()

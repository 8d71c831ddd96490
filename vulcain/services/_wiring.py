"""Building every part of a Vulcain process from its settings."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from vulcain.config import Settings
from vulcain.db.database import Database
from vulcain.inference.engine import Engine
from vulcain.services.accounts import AccountService
from vulcain.services.networks import NetworkService
from vulcain.services.tasks import TaskService
from vulcain.storage import BlobStore, open_storage
from vulcain.tasks.events import LocalTaskEvents, TaskEvents
from vulcain.tasks.maintenance import PurgeLoop, recover_pending
from vulcain.tasks.queue import InProcessQueue, TaskQueue
from vulcain.tasks.runner import TaskRunner

log = logging.getLogger(__name__)


class Services:
    """Everything a process needs, wired from ``settings``. The optional arguments replace
    a part (another store, queue, engine or event channel); by default the embedded
    stack is built: SQLite or the configured database, a local folder, in-process threads.
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
        self.db = Database(settings.database_url)
        self.storage = storage or open_storage(settings.storage_url)
        self.engine = engine or Engine(settings.engine_settings(), self.storage.path)
        self.events = events or LocalTaskEvents()
        self.runner = TaskRunner(self.db, self.engine, self.events)
        self.queue = queue or InProcessQueue(settings.workers, self.runner.start)
        self.accounts = AccountService(self.db)
        self.networks = NetworkService(
            settings, self.db, self.storage, self.queue, self.engine, self.events
        )
        self.tasks = TaskService(settings, self.db, self.events)
        self._purge = PurgeLoop(self.db, settings)
        self._started = False

    def start(self) -> None:
        """Apply migrations, make sure an admin exists, start the queue, re-submit tasks a
        crash left pending, and start the purge of old inference tasks."""
        self.db.migrate()
        self.bootstrap_accounts()
        self.queue.start()
        self._started = True
        if not self.queue.durable:
            recover_pending(self.db, self.queue, self.events)
        self._purge.start()

    def bootstrap_accounts(self) -> None:
        """``VULCAIN_BOOTSTRAP_API_KEY`` makes sure that admin exists; otherwise a database
        with no account gets an admin whose key is printed once on standard output."""
        if self.settings.bootstrap_api_key:
            self.accounts.ensure_admin(self.settings.bootstrap_api_key)
            return
        if self.accounts.exists_any():
            return
        account, api_key = self.accounts.create("admin", admin=True)
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
        self._purge.close()
        self.queue.close()
        self.engine.close()
        self.runner.close()
        self.events.close()
        self.storage.close()
        self.db.close()

"""``vulcain worker``: a Celery worker running deployment and inference tasks.

One process holds one :class:`~vulcain.services.Services` (database, storage with its
local file cache, engine with its model cache and batchers) and a Celery pool of
threads. Each thread runs one task to its end through the same
:class:`~vulcain.tasks.runner.TaskRunner` as the in-process mode, so ``concurrency``
threads are ``concurrency`` requests the engine's batcher can put together.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import TYPE_CHECKING

from sqlalchemy import select

from vulcain.config import Settings
from vulcain.db.models import NetworkRow, TaskRow
from vulcain.tasks.celery_app import create_celery, register_runner

if TYPE_CHECKING:
    from vulcain.services import Services

log = logging.getLogger(__name__)


def default_concurrency(settings: Settings) -> int:
    """``worker_concurrency``, or ``max(workers, 2) * max_batch_size``: at least two full
    batches in flight (one running forward while the next fills), more with more
    preprocessing threads."""
    if settings.worker_concurrency:
        return settings.worker_concurrency
    return max(settings.workers, 2) * settings.max_batch_size


class StaleModelGuard:
    """Forgets a cached model when its network id now names another network.

    PostgreSQL never hands out an id twice, but SQLite may reuse the highest id after a
    delete; a worker does not see deletes made through the API, so before running a task
    on SQLite it compares the network's creation date with the one it loaded."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._enabled = services.db.dialect == "sqlite"
        self._seen: dict[int, object] = {}
        self._lock = threading.Lock()

    def check(self, task_id: int) -> None:
        if not self._enabled:
            return
        with self._services.db.session() as session:
            found = session.execute(
                select(NetworkRow.id, NetworkRow.create_date)
                .join(TaskRow, TaskRow.network_id == NetworkRow.id)
                .where(TaskRow.id == task_id)
            ).first()
        if found is None:
            return
        network_id, created = found
        with self._lock:
            previous = self._seen.get(network_id)
            self._seen[network_id] = created
        if previous is not None and previous != created:
            log.info("network id %s was reused; forgetting the old model", network_id)
            self._services.engine.evict(network_id)


def run_worker(
    settings: Settings, *, concurrency: int | None = None, loglevel: str = "INFO"
) -> None:
    """Consume ``settings.task_queue`` until stopped (SIGTERM or Ctrl-C: running tasks
    finish first; a task not acknowledged yet goes back to the queue)."""
    from vulcain.services import Services

    threads = concurrency or default_concurrency(settings)
    services = Services(settings)
    services.start_worker()
    guard = StaleModelGuard(services)

    def run(task_id: int) -> None:
        guard.check(task_id)
        services.runner(task_id)

    app = create_celery(settings)
    register_runner(app, run)
    node = f"vulcain-{os.getpid()}@{socket.gethostname()}"
    log.info("worker %s: %d task threads on queue %s", node, threads, settings.task_queue)
    try:
        app.worker_main(
            [
                "worker",
                "--pool=threads",
                f"--concurrency={threads}",
                f"--queues={settings.task_queue}",
                f"--hostname={node}",
                f"--loglevel={loglevel}",
                "--without-gossip",
                "--without-mingle",
            ]
        )
    finally:
        services.close()

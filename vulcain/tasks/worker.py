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

from vulcain.config import Settings
from vulcain.tasks.celery_app import create_celery, register_runner

log = logging.getLogger(__name__)


def default_concurrency(settings: Settings) -> int:
    """``worker_concurrency``, or ``max(workers, 2) * max_batch_size``: at least two full
    batches in flight (one running forward while the next fills), more with more
    preprocessing threads."""
    if settings.worker_concurrency:
        return settings.worker_concurrency
    return max(settings.workers, 2) * settings.max_batch_size


def run_worker(
    settings: Settings, *, concurrency: int | None = None, loglevel: str = "INFO"
) -> None:
    """Consume ``settings.task_queue`` until stopped (SIGTERM or Ctrl-C: running tasks
    finish first; a task not acknowledged yet goes back to the queue)."""
    from vulcain.services import Services

    threads = concurrency or default_concurrency(settings)
    services = Services(settings)
    services.start_worker()
    app = create_celery(settings)
    register_runner(app, services.runner)
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

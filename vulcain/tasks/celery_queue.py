"""The task queue of API replicas in scale-out mode: publish task ids to the broker."""

from __future__ import annotations

import logging
import threading
import uuid

from vulcain.config import Settings
from vulcain.tasks.celery_app import RUN_TASK, create_celery
from vulcain.tasks.payloads import InferenceWork
from vulcain.tasks.queue import TaskQueue

log = logging.getLogger(__name__)

PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0.2,
    "interval_step": 0.5,
    "interval_max": 1.0,
}
"""A publish gives up after about two seconds when the broker is down: the request still
succeeds and the task, pending in the database, is published again later
(:class:`vulcain.tasks.maintenance.ResubmitLoop`)."""
PUBLISH_TIMEOUT_S = 5.0
"""Longest one attempt waits to write a message and for the broker's confirmation of it.
Without it, a publish the broker never confirms (a connection it stopped answering on while
it restarts, a broker blocking publishers) waits forever: the request hangs, and a
re-publish round hangs holding the cluster-wide lock, so no replica publishes stale tasks
again and they stay pending."""


MAX_UNPUBLISHED = 100_000
"""Most ids of failed publishes a replica remembers (a few MB); past that, in a long
outage, the rest are found by the re-publish of stale pending tasks once the broker
queue is empty."""


class CeleryQueue(TaskQueue):
    """Publishes task ids for ``vulcain worker`` processes; runs nothing itself. The broker
    keeps what it accepted across crashes and restarts, hence ``durable``."""

    durable = True
    submit_blocks = True

    def __init__(self, settings: Settings) -> None:
        self.name = settings.task_queue
        self.app = create_celery(settings)
        self._unpublished: set[int] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        pass

    def submit(self, task_id: int, work: InferenceWork | None = None) -> None:
        """Publish ``task_id``; when that fails, the id is kept in :meth:`unpublished`
        until a later submit of it succeeds."""
        try:
            self.app.send_task(
                RUN_TASK,
                args=[task_id],
                # The message's id names the task, so the worker's log lines about it
                # ("Task vulcain.run_task[33.5f0c...] received") do too.
                task_id=f"{task_id}.{uuid.uuid4().hex}",
                queue=self.name,
                retry=True,
                retry_policy=PUBLISH_RETRY_POLICY,
                timeout=PUBLISH_TIMEOUT_S,
                confirm_timeout=PUBLISH_TIMEOUT_S,
            )
        except BaseException:
            with self._lock:
                if len(self._unpublished) < MAX_UNPUBLISHED:
                    self._unpublished.add(task_id)
            raise
        with self._lock:
            self._unpublished.discard(task_id)

    def unpublished(self) -> list[int]:
        with self._lock:
            return sorted(self._unpublished)

    def backlog(self) -> int | None:
        """Messages waiting in the broker queue (not counting those a worker holds), or
        ``None`` when the broker cannot tell."""
        try:
            with self.app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1)
                # kombu's stubs type the channel as its abstract base; every transport's
                # channel (amqp's, kombu's virtual ones for Redis) declares queues.
                channel = connection.default_channel
                declared = channel.queue_declare(  # type: ignore[attr-defined]  # see above
                    queue=self.name, passive=True
                )
                return int(declared.message_count)
        except Exception as error:
            log.info("could not read the length of broker queue %s: %s", self.name, error)
            return None

    def close(self) -> None:
        self.app.close()

"""Keeping tasks healthy: recovery of tasks a crash left pending, purge of old results.

With several API replicas on PostgreSQL, the periodic jobs take a cluster-wide advisory
lock first, so one replica at a time does each round of them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from vulcain.config import Settings
from vulcain.db.database import Database, advisory_lock
from vulcain.db.models import utcnow
from vulcain.db.task_writes import claim_stale, delete_finished_inferences, recover
from vulcain.tasks.events import TaskEvents
from vulcain.tasks.queue import TaskQueue
from vulcain.tasks.runner import REQUEST_GONE

log = logging.getLogger(__name__)

PURGE_BATCH = 500
RESUBMIT_BATCH = 1000
_PURGE_LOCK_ID = 0x76756C70  # "vulp"
_RESUBMIT_LOCK_ID = 0x76756C72  # "vulr"


def recover_pending(db: Database, queue: TaskQueue, events: TaskEvents) -> list[int]:
    """Re-submit every pending task (a crash or kill lost them from the in-process queue);
    an inference whose stored request is gone is marked error. Returns the resubmitted ids."""
    with db.session() as session:
        pending, lost = recover(session, REQUEST_GONE)
    for task_id in lost:
        events.notify(task_id)
    for task_id in pending:
        queue.submit(task_id)
    if pending or lost:
        log.info("recovered %d pending tasks, %d lost inference requests", len(pending), len(lost))
    return pending


def purge_finished(db: Database, older_than: datetime) -> int:
    """Delete finished inference tasks last updated before ``older_than``, with their
    stored requests. Returns how many tasks this call removed. Replicas purging at the
    same time take turns, so when a call returns nothing it selects is left."""
    purged = 0
    while True:
        with db.session() as session:
            advisory_lock(session, _PURGE_LOCK_ID)
            deleted = delete_finished_inferences(session, older_than, PURGE_BATCH)
        if not deleted:
            return purged
        purged += deleted


def resubmit_stale(
    db: Database, queue: TaskQueue, older_than: datetime, *, limit: int = RESUBMIT_BATCH
) -> list[int]:
    """Publish again the tasks still pending that were last updated before ``older_than``
    (their first publish may have failed: the broker was down at that instant). Safe even
    when the broker still holds them: a task runs to a result once. Returns the ids."""
    with db.session() as session:
        if not advisory_lock(session, _RESUBMIT_LOCK_ID, wait=False):
            return []
        # Their age counts from this publish: the next round leaves them to the broker.
        stale = claim_stale(session, older_than, limit)
        for task_id in stale:
            queue.submit(task_id)
    if stale:
        log.warning("published again %d tasks pending for too long: %s", len(stale), stale)
    return stale


class _Periodic:
    """A daemon thread calling ``run_once`` every ``interval`` seconds until closed."""

    name = "vulcain-periodic"
    what = "periodic job"

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        raise NotImplementedError

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("%s failed; retrying later", self.what)
            self._stop.wait(self._interval)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None


class PurgeLoop(_Periodic):
    """Runs :func:`purge_finished` every ``purge_interval_seconds``."""

    name = "vulcain-purge"
    what = "purge of old inference tasks"

    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__(settings.purge_interval_seconds)
        self._db = db
        self._settings = settings

    def run_once(self) -> int:
        older_than = utcnow() - timedelta(seconds=self._settings.task_retention_seconds)
        purged = purge_finished(self._db, older_than)
        if purged:
            log.info("purged %d finished inference tasks", purged)
        return purged


class ResubmitLoop(_Periodic):
    """With a broker, every ``task_resubmit_seconds``:

    - publish again the tasks whose publish failed in this process (``unpublished()``):
      the broker certainly does not hold them, so a backlog of other tasks, which could
      last as long as the load does, does not hold them back;
    - when the broker queue is empty (``backlog()`` is 0; ``None`` means unknown and
      counts as empty), publish again the tasks pending for longer than that, wherever
      they were submitted (:func:`resubmit_stale`). A backlog means workers are busy or
      stopped and the broker holds the tasks: nothing more to do."""

    name = "vulcain-resubmit"
    what = "re-publish of stale pending tasks"

    def __init__(
        self,
        db: Database,
        queue: TaskQueue,
        backlog: Callable[[], int | None],
        interval: float,
    ) -> None:
        super().__init__(interval)
        self._db = db
        self._queue = queue
        self._backlog = backlog

    def run_once(self) -> int:
        published = self._publish_unpublished()
        waiting = self._backlog()
        if waiting:
            return published
        older_than = utcnow() - timedelta(seconds=self._interval)
        return published + len(resubmit_stale(self._db, self._queue, older_than))

    def _publish_unpublished(self) -> int:
        """Submit again what this process failed to publish; stop at the first failure
        (the broker is still unreachable: the rest wait for the next round)."""
        published: list[int] = []
        for task_id in self._queue.unpublished():
            try:
                self._queue.submit(task_id)
            except Exception as error:
                log.warning("task %s still cannot be published: %s", task_id, error)
                break
            published.append(task_id)
        if published:
            log.warning("published the tasks whose first publish had failed: %s", published)
        return len(published)

"""Keeping tasks healthy: recovery of tasks a crash left pending, purge of old results."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select, update

from vulcain.config import Settings
from vulcain.db.database import Database
from vulcain.db.models import InferenceRequestRow, TaskRow, utcnow
from vulcain.tasks.events import TaskEvents
from vulcain.tasks.queue import TaskQueue
from vulcain.tasks.runner import INFERENCE, REQUEST_GONE

log = logging.getLogger(__name__)

PURGE_BATCH = 500


def recover_pending(db: Database, queue: TaskQueue, events: TaskEvents) -> list[int]:
    """Re-submit every pending task (a crash or kill lost them from the in-process queue);
    an inference whose stored request is gone is marked error. Returns the resubmitted ids."""
    with db.session() as session:
        lost = session.scalars(
            select(TaskRow.id).where(
                TaskRow.status == "pending",
                TaskRow.kind == INFERENCE,
                ~exists().where(InferenceRequestRow.task_id == TaskRow.id),
            )
        ).all()
        if lost:
            session.execute(
                update(TaskRow)
                .where(TaskRow.id.in_(lost), TaskRow.status == "pending")
                .values(status="error", error=REQUEST_GONE, update_date=utcnow())
            )
        pending = session.scalars(
            select(TaskRow.id).where(TaskRow.status == "pending").order_by(TaskRow.id)
        ).all()
    for task_id in lost:
        events.notify(task_id)
    for task_id in pending:
        queue.submit(task_id)
    if pending or lost:
        log.info("recovered %d pending tasks, %d lost inference requests", len(pending), len(lost))
    return list(pending)


def purge_finished(db: Database, older_than: datetime) -> int:
    """Delete finished inference tasks last updated before ``older_than``, with their
    stored requests. Returns how many tasks went."""
    purged = 0
    while True:
        with db.session() as session:
            ids = session.scalars(
                select(TaskRow.id)
                .where(
                    TaskRow.kind == INFERENCE,
                    TaskRow.status != "pending",
                    TaskRow.update_date < older_than,
                )
                .limit(PURGE_BATCH)
            ).all()
            if not ids:
                return purged
            session.execute(delete(InferenceRequestRow).where(InferenceRequestRow.task_id.in_(ids)))
            session.execute(delete(TaskRow).where(TaskRow.id.in_(ids)))
            purged += len(ids)


class PurgeLoop:
    """A daemon thread running :func:`purge_finished` every ``purge_interval_seconds``."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="vulcain-purge", daemon=True)
        self._thread.start()

    def run_once(self) -> int:
        older_than = utcnow() - timedelta(seconds=self._settings.task_retention_seconds)
        return purge_finished(self._db, older_than)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                purged = self.run_once()
                if purged:
                    log.info("purged %d finished inference tasks", purged)
            except Exception:
                log.exception("purge of old inference tasks failed; retrying later")
            self._stop.wait(self._settings.purge_interval_seconds)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

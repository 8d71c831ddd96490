"""Group commit of the inference path's task writes.

Accepting an inference writes its task and request before the task id is answered (the
task must survive a crash of the process from then on), and its end is written when it
finishes. One thread takes every write queued meanwhile and commits them in one
transaction, so under load one commit serves many requests, and SQLite sees a single
writer from this process instead of a crowd of threads waiting for its lock.

Each write is settled (:mod:`vulcain.tasks.settle`) once its transaction committed: a
caller that must not answer before the task is durable waits for that.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

from vulcain.db.database import Database
from vulcain.db.task_writes import NewInference, TaskEnd, TaskWrites
from vulcain.errors import NotFound
from vulcain.tasks.settle import Settle

log = logging.getLogger(__name__)

MAX_GROUP = 256
"""Most writes committed together (the rest wait for the next transaction)."""


class TaskStore:
    """The one writer of inference task rows of this process (thread-safe)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._writes = TaskWrites(db.dialect)
        self._queue: deque[tuple[NewInference | TaskEnd, Settle | None]] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._connection: Any = None
        self._thread = threading.Thread(target=self._loop, name="vulcain-task-store", daemon=True)
        self._thread.start()

    def create_inference(self, task: NewInference, settle: Settle) -> None:
        """Write the task and its request; ``settle`` gets the task id once committed, or
        :class:`vulcain.errors.NotFound` when the network is gone (or no longer published
        under ``task.public_id``), or the error that failed the write."""
        self._enqueue(task, settle)

    def finish(self, end: TaskEnd, settle: Settle | None = None) -> None:
        """Record the end of a task; ``settle`` gets the task's kind once committed, or
        ``None`` when it was not written (the task was not pending any more)."""
        self._enqueue(end, settle)

    def _enqueue(self, write: NewInference | TaskEnd, settle: Settle | None) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the task store is closed")
            self._queue.append((write, settle))
            self._cond.notify()

    def close(self) -> None:
        """Commit what is queued, then stop."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    break
                group = [self._queue.popleft() for _ in range(min(MAX_GROUP, len(self._queue)))]
            self._commit_group(group)
        self._disconnect()

    def _commit_group(self, group: list[tuple[NewInference | TaskEnd, Settle | None]]) -> None:
        try:
            results = self._commit([write for write, _ in group])
        except Exception as error:
            if len(group) == 1:
                log.error("a task write failed", exc_info=error)
                results = [error]
            else:
                # One bad write (an account deleted meanwhile, ...) must not fail the others.
                for item in group:
                    self._commit_group([item])
                return
        for (_, settle), result in zip(group, results, strict=True):
            if settle is not None:
                settle(result)

    def _commit(self, writes: list[NewInference | TaskEnd]) -> list[object]:
        created = [write for write in writes if isinstance(write, NewInference)]
        ended = [write for write in writes if isinstance(write, TaskEnd)]
        connection = self._connect()
        try:
            cursor = connection.cursor()
            ids = iter(self._writes.insert_inferences(cursor, created) if created else [])
            written = iter(self._writes.finish(cursor, ended) if ended else [])
            cursor.close()
            connection.commit()
        except BaseException:
            self._disconnect(broken=True)
            raise
        return [
            _created(next(ids), write) if isinstance(write, NewInference) else next(written)
            for write in writes
        ]

    def _connect(self) -> Any:
        if self._connection is None:
            self._connection = self._db.engine.raw_connection()
        return self._connection

    def _disconnect(self, *, broken: bool = False) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if broken:
                connection.invalidate()
            else:
                connection.close()
        except Exception:
            log.warning("could not release the task store's connection", exc_info=True)


def _created(task_id: int | None, task: NewInference) -> int | NotFound:
    if task_id is not None:
        return task_id
    where = f"public network {task.public_id!r}" if task.public_id else f"network {task.network_id}"
    return NotFound(f"There is no {where}.")

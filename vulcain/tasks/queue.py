"""Task queues: where a task id goes to be run by a worker.

The task row in the database is the single truth of a task's status; a queue only
carries ids. :class:`InProcessQueue` runs tasks on threads of this process; a Celery
queue (scale-out) implements the same interface.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from vulcain.db.task_writes import NewInference
    from vulcain.tasks.payloads import InferenceWork
    from vulcain.tasks.views import TaskView

log = logging.getLogger(__name__)


class TaskQueue(ABC):
    """Delivers task ids to a runner. ``durable`` queues keep submitted ids across a crash
    themselves; for the others, :class:`vulcain.services.Services` re-submits pending
    tasks at start."""

    durable: bool = False
    submit_blocks: bool = False
    """Whether :meth:`submit` may wait on I/O (a broker): async callers run it on a thread."""

    @abstractmethod
    def submit(self, task_id: int, work: InferenceWork | None = None) -> None:
        """Have the task run soon (at least once). ``work`` is the inference task's work
        already in memory; queues that carry only ids ignore it."""

    @abstractmethod
    def start(self) -> None:
        """Begin running submitted tasks."""

    @abstractmethod
    def close(self) -> None:
        """Stop: running tasks finish, tasks not started stay pending in the database."""

    def backlog(self) -> int | None:
        """Tasks submitted and not yet taken by a worker, or ``None`` when unknown."""
        return None

    def unpublished(self) -> list[int]:
        """Tasks this queue could not take (a broker unreachable at that instant), to be
        submitted again. Empty for queues that retry by themselves."""
        return []

    def begin(self, work: InferenceWork) -> Begun | None:
        """Start an inference while its task is still being written, where tasks run in
        this process (then tell the result :meth:`Begun.written` or
        :meth:`Begun.not_written` instead of calling :meth:`submit`); ``None`` where the
        task must be written first."""
        return None


class Begun(Protocol):
    """An inference started before its task was written."""

    async def settle_within(self, task: NewInference, seconds: float) -> TaskView | None:
        """If it ends within ``seconds``, write ``task`` already ended and return it;
        ``None`` otherwise (then write the task pending and call :meth:`written`)."""

    def written(self, task_id: int) -> None:
        """Its task is committed as ``task_id``."""

    def not_written(self) -> None:
        """Its task could not be written: drop it."""


class InProcessQueue(TaskQueue):
    """A pool of ``workers`` threads calling ``run(task_id)`` (what it returns, such as the
    future of a task handed on to the engine, is not waited for).

    An inference whose work is in memory is handed to the engine at once on the caller's
    thread by ``begin_inference(work)``, even before its task is written: no thread hop,
    no second read of what the caller just wrote, and its images are decoded while the
    task is committed.

    A task that could not be handed to the pool (no thread could be started, say), or
    whose run failed outside the task's own error handling (the database unreachable as
    its end was written), is still pending: it is submitted again ``retry_seconds`` later,
    as the broker's resubmit does, rather than at the next start."""

    def __init__(
        self,
        workers: int,
        run: Callable[[int], object],
        begin_inference: Callable[[InferenceWork], Begun] | None = None,
        *,
        retry_seconds: float = 120.0,
    ) -> None:
        self._workers = workers
        self._run = run
        self._begin_inference = begin_inference
        self._retry_seconds = retry_seconds
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._retry: set[int] = set()
        self._retry_timer: threading.Timer | None = None

    def start(self) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="vulcain-task")

    def submit(self, task_id: int, work: InferenceWork | None = None) -> None:
        begun = self.begin(work) if work is not None else None
        if begun is not None:
            begun.written(task_id)
            return
        with self._lock:
            if self._pool is None:
                raise RuntimeError("the task queue is not started")
            try:
                self._pool.submit(self._run_logged, task_id)
            except Exception:
                log.exception("could not queue task %s", task_id)
                self._retry_later(task_id)

    def begin(self, work: InferenceWork) -> Begun | None:
        if self._begin_inference is None:
            return None
        return self._begin_inference(work)

    def _run_logged(self, task_id: int) -> None:
        try:
            self._run(task_id)
        except Exception:
            log.exception("task %s could not be run", task_id)
            with self._lock:
                if self._pool is not None:
                    self._retry_later(task_id)

    def _retry_later(self, task_id: int) -> None:
        """Submit ``task_id`` again after ``retry_seconds`` (called holding the lock)."""
        log.warning(
            "task %s stays pending; it is submitted again in %g s", task_id, self._retry_seconds
        )
        self._retry.add(task_id)
        if self._retry_timer is None:
            self._retry_timer = threading.Timer(self._retry_seconds, self._submit_again)
            self._retry_timer.daemon = True
            self._retry_timer.start()

    def _submit_again(self) -> None:
        with self._lock:
            task_ids, self._retry, self._retry_timer = sorted(self._retry), set(), None
        for task_id in task_ids:
            try:
                self.submit(task_id)
            except RuntimeError:  # stopped meanwhile: the next start recovers it
                return

    def close(self) -> None:
        """Stop: running tasks finish; queued ones, and those waiting to be submitted
        again, stay pending in the database (the next start recovers them)."""
        with self._lock:
            pool, self._pool = self._pool, None
            timer, self._retry_timer = self._retry_timer, None
            self._retry.clear()
        if timer is not None:
            timer.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

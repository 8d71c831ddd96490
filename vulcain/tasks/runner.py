"""Running one task: the function every queue (in-process threads, Celery) calls."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import selectinload

from vulcain.db.database import Database
from vulcain.db.models import InferenceRequestRow, NetworkRow, TaskRow, utcnow
from vulcain.errors import VulcainError
from vulcain.inference.engine import DeployResult, Engine, NetworkSpec, Tensor, task_data
from vulcain.schemas import InferenceRequest
from vulcain.tasks.events import TaskEvents
from vulcain.tasks.payloads import InferenceWork, decode_request, network_spec

log = logging.getLogger(__name__)

DEPLOY = "deploy"
INFERENCE = "inference"
INTERNAL_ERROR = "The task failed because of an internal error; the server log has the details."
NETWORK_GONE = "The network was deleted before the task ran."
REQUEST_GONE = "The stored inference request is gone (the server stopped); send the request again."


class _Skip(Exception):
    """The task is not pending any more: nothing to do."""


class TaskRunner:
    """``runner(task_id)`` loads the task, runs the engine, and records success or error.

    Running a task that is no longer pending does nothing, and a result is written only
    while the task is still pending, so running a task twice writes its result once.

    :meth:`start` returns as soon as an inference is handed to the engine, so the threads
    of an in-process queue keep feeding the engine's batcher instead of each waiting for
    a forward pass; results are written by the runner's own completion threads.
    """

    def __init__(
        self, db: Database, engine: Engine, events: TaskEvents, *, completion_threads: int = 2
    ) -> None:
        self._db = db
        self._engine = engine
        self._events = events
        self._completions = ThreadPoolExecutor(
            completion_threads, thread_name_prefix="vulcain-complete"
        )

    def __call__(self, task_id: int) -> None:
        self.start(task_id).result()

    def start(self, task_id: int) -> Future[None]:
        """Run the task; the future is done once its result is written."""
        done: Future[None] = Future()
        try:
            kind, spec, request = self._load(task_id)
            if kind == DEPLOY:
                self._finish_deploy(task_id, spec.id, self._engine.deploy(spec))
            else:
                assert request is not None
                return self.start_inference(task_id, InferenceWork(spec, request))
        except _Skip:
            pass
        except Exception as error:
            self._fail(task_id, spec_id=None, error=error)
        done.set_result(None)
        return done

    def start_inference(self, task_id: int, work: InferenceWork) -> Future[None]:
        """Hand an inference whose work is already loaded to the engine; the future is
        done once its result is written."""
        done: Future[None] = Future()
        try:
            tensors = self._engine.submit(work.network, work.request)
        except Exception as error:
            self._fail(task_id, spec_id=work.network.id, error=error)
            done.set_result(None)
            return done
        tensors.add_done_callback(
            lambda result: self._schedule_completion(task_id, work.network, result, done)
        )
        return done

    def _schedule_completion(
        self, task_id: int, spec: NetworkSpec, result: Future[list[Tensor]], done: Future[None]
    ) -> None:
        """Write the result on a completion thread, or on this (the engine's) thread once
        the runner is closed, so that no finished inference stays pending."""
        try:
            self._completions.submit(self._complete, task_id, spec, result, done)
        except RuntimeError:
            self._complete(task_id, spec, result, done)

    def _complete(
        self, task_id: int, spec: NetworkSpec, result: Future[list[Tensor]], done: Future[None]
    ) -> None:
        try:
            error = result.exception()
            if error is None:
                self.finish(task_id, data=task_data(result.result()))
            else:
                self._fail(task_id, spec_id=spec.id, error=error)
        finally:
            done.set_result(None)

    def _fail(self, task_id: int, *, spec_id: int | None, error: BaseException) -> None:
        if isinstance(error, VulcainError):
            self.finish(task_id, error=error.message)
            return
        log.error("task %s of network %s failed", task_id, spec_id, exc_info=error)
        self.finish(task_id, error=INTERNAL_ERROR)

    def close(self) -> None:
        """Wait for the results being written."""
        self._completions.shutdown(wait=True)

    def _load(self, task_id: int) -> tuple[str, NetworkSpec, InferenceRequest | None]:
        with self._db.session() as session:
            task = session.get(TaskRow, task_id)
            if task is None or task.status != "pending":
                raise _Skip
            network = (
                session.get(NetworkRow, task.network_id, options=[selectinload(NetworkRow.files)])
                if task.network_id is not None
                else None
            )
            if network is None:
                raise VulcainError(NETWORK_GONE)
            spec = network_spec(network)
            if task.kind == DEPLOY:
                return DEPLOY, spec, None
            stored = session.get(InferenceRequestRow, task_id)
            if stored is None:
                raise VulcainError(REQUEST_GONE)
            return INFERENCE, spec, decode_request(stored.body)

    def _finish_deploy(self, task_id: int, network_id: int, result: DeployResult) -> None:
        inputs = [asdict(spec) for spec in result.inputs]
        with self._db.session() as session:
            if self._write(session, task_id, "success", None, {"inputs": inputs}):
                session.execute(
                    update(NetworkRow)
                    .where(NetworkRow.id == network_id)
                    .values(inputs=inputs, outputs=list(result.outputs))
                )
        self._events.notify(task_id)

    def finish(
        self, task_id: int, *, data: dict[str, Any] | None = None, error: str | None = None
    ) -> bool:
        """Record the end of a pending task (``error`` set means failure) and wake its
        waiters; ``False`` when the task was not pending any more."""
        status = "error" if error is not None else "success"
        with self._db.session() as session:
            written = self._write(session, task_id, status, error, data)
        self._events.notify(task_id)
        return written

    @staticmethod
    def _write(
        session: Any, task_id: int, status: str, error: str | None, data: dict[str, Any] | None
    ) -> bool:
        result = session.execute(
            update(TaskRow)
            .where(TaskRow.id == task_id, TaskRow.status == "pending")
            .values(status=status, error=error, data=data, update_date=utcnow())
        )
        return bool(result.rowcount)

"""Running one task: the function every queue (in-process threads, Celery) calls.

An inference is handed to the engine and its end recorded by whoever completes it: the
result is encoded once, the waiters of a task kept in :class:`~vulcain.tasks.live.LiveTasks`
are woken at once, the end is committed by the :class:`~vulcain.tasks.store.TaskStore`
(grouped with others), and only then are waiters elsewhere notified.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import asdict, replace
from functools import partial

from sqlalchemy import update
from sqlalchemy.orm import Session, selectinload

from vulcain.db.database import Database
from vulcain.db.models import InferenceRequestRow, NetworkRow, TaskRow, utcnow
from vulcain.db.task_writes import Ended, NewInference, TaskEnd, finish_task
from vulcain.errors import VulcainError
from vulcain.inference.budget import ShuttingDown
from vulcain.inference.engine import DeployResult, Engine, FramedOutputs, Outputs
from vulcain.inference.network_spec import NetworkSpec
from vulcain.metrics import Metrics
from vulcain.recognition.results import recognition_data
from vulcain.schemas import TaskKind, TaskStatus
from vulcain.storage.base import BlobStore
from vulcain.tasks._converted import keep_conversion
from vulcain.tasks.events import TaskEvents
from vulcain.tasks.live import LiveTask, LiveTasks
from vulcain.tasks.payloads import InferenceWork, decode_request, network_spec
from vulcain.tasks.results import encode_tensors
from vulcain.tasks.settle import Settle, complete, in_future, on_loop
from vulcain.tasks.store import TaskStore
from vulcain.tasks.views import TaskView

log = logging.getLogger(__name__)

INTERNAL_ERROR = "The task failed because of an internal error; the server log has the details."
NETWORK_GONE = "The network was deleted before the task ran."
REQUEST_GONE = "The stored inference request is gone (the server stopped); send the request again."


class _Skip(Exception):
    """The task is not pending any more: nothing to do."""


class TaskRunner:
    """``runner(task_id)`` loads the task, runs the engine, and records success or error.

    Running a task that is no longer pending does nothing, and an end is written only
    while the task is still pending, so running a task twice writes its result once.

    :meth:`start` returns as soon as an inference is handed to the engine, so the threads
    of an in-process queue keep feeding the engine's batcher instead of each waiting for
    a forward pass. With ``live``, inferences are kept there while they run, so that this
    process answers for them from memory.
    """

    def __init__(
        self,
        db: Database,
        engine: Engine,
        events: TaskEvents,
        store: TaskStore,
        live: LiveTasks | None = None,
        metrics: Metrics | None = None,
        storage: BlobStore | None = None,
    ) -> None:
        self._db = db
        self._storage = storage
        self._engine = engine
        self._events = events
        self._store = store
        self._live = live
        self._metrics = metrics

    def __call__(self, task_id: int) -> None:
        self.start(task_id).result()

    def start(self, task_id: int) -> Future[None]:
        """Run the task; the future is done once its end is committed."""
        done: Future[None] = Future()
        try:
            with self._db.session() as session:
                network, work = self._load(session, task_id)
            if work is not None:
                self.begin_inference(work).written(task_id, in_future(done))
                return done
            self._finish_deploy(task_id, network, self._engine.deploy(network))
        except _Skip:
            pass
        except Exception as error:
            self._end(task_id, None, error=_message(task_id, error), then=in_future(done))
            return done
        done.set_result(None)
        return done

    def begin_inference(self, work: InferenceWork) -> InferenceRun:
        """Hand an inference to the engine now, while its task may still be being
        written: :meth:`InferenceRun.written` gives it its id (its end is recorded once
        both are done), :meth:`InferenceRun.not_written` drops it."""
        run = InferenceRun(self, work)
        try:
            outputs = self._engine.submit(
                work.network,
                work.request,
                run.progress,
                framed=work.recognition is not None and work.recognition.framed,
            )
        except Exception as error:
            outputs = Future()
            outputs.set_exception(error)
        outputs.add_done_callback(run.outputs_done)
        return run

    def _inference_done(
        self,
        task_id: int,
        work: InferenceWork,
        live: LiveTask | None,
        then: Settle | None,
        outputs: Future[Outputs],
    ) -> None:
        """On the batcher's thread: encode the result once and record the end."""
        ended = self._ended(task_id, work, outputs)
        if ended is None:  # left pending, for the next start
            if then is not None:
                then(None)
            return
        self._end(task_id, live, data=ended.data, error=ended.error, then=then)

    def _ended(
        self, task_id: int | None, work: InferenceWork, outputs: Future[Outputs]
    ) -> Ended | None:
        """How the inference ended: its result encoded once, or the sentence of its error;
        ``None`` when the engine stopped before running it (its task stays pending)."""
        try:
            error = outputs.exception()
            if isinstance(error, ShuttingDown):
                return None
            if error is not None:
                return Ended(_message(task_id, error, work.request_id), None, utcnow())
            started = time.perf_counter()
            data = _task_data(work, outputs.result())
            if self._metrics is not None:
                network = self._metrics.network(str(work.network.id))
                network.stages["encode"].observe(time.perf_counter() - started)
            return Ended(None, data, utcnow())
        except Exception as error:
            return Ended(_message(task_id, error, work.request_id), None, utcnow())

    async def write_ended(self, task: NewInference, ended: Ended) -> TaskView:
        """Write ``task`` already ended (see :meth:`InferenceRun.settle_within`); the task
        as the API answers it once committed."""
        loop = asyncio.get_running_loop()
        written: asyncio.Future[int] = loop.create_future()
        self._store.create_inference(replace(task, body=None, ended=ended), on_loop(loop, written))
        task_id = await written
        if self._metrics is not None:
            self._metrics.tasks.labels(TaskKind.INFERENCE, ended.status).inc()
        return TaskView(
            task_id,
            task.name,
            ended.status,
            ended.error,
            ended.data,
            task.create_date,
            ended.update_date,
        )

    def _end(
        self,
        task_id: int,
        live: LiveTask | None,
        *,
        data: bytes | None = None,
        error: str | None = None,
        then: Settle | None = None,
    ) -> None:
        """Record an end: in memory first (its waiters answer at once), then durably;
        ``then`` is called once it is committed and every waiter was told."""
        ended_before = (
            live is not None
            and self._live is not None
            and not self._live.finish(live, data=data, error=error)
        )
        if ended_before:  # its network was deleted meanwhile, which ended it
            if then is not None:
                then(None)
            return
        end = TaskEnd(task_id, error, data, utcnow())
        self._store.finish(end, partial(self._stored, end, live, then))

    def _stored(
        self, end: TaskEnd, live: LiveTask | None, then: Settle | None, written: object
    ) -> None:
        task_id = end.task_id
        if live is not None and self._live is not None:
            self._live.stored(live, isinstance(written, str))
        if isinstance(written, str) and self._metrics is not None:
            outcome = TaskStatus.ERROR if end.error is not None else TaskStatus.SUCCESS
            self._metrics.tasks.labels(written, outcome).inc()
        self._events.notify(task_id)
        if then is not None:
            then(None)

    def finish(self, task_id: int, *, data: bytes | None = None, error: str | None = None) -> bool:
        """Record the end of a pending task (``error`` set means failure) and wake its
        waiters; ``False`` when the task was not pending any more."""
        written: Future[str | None] = Future()
        self._store.finish(TaskEnd(task_id, error, data, utcnow()), in_future(written))
        kind = written.result()
        self._events.notify(task_id)
        return kind is not None

    def _load(self, session: Session, task_id: int) -> tuple[NetworkSpec, InferenceWork | None]:
        """The task's network and, for an inference, its work."""
        task = session.get(TaskRow, task_id)
        if task is None or task.status != TaskStatus.PENDING:
            raise _Skip
        network = (
            session.get(NetworkRow, task.network_id, options=[selectinload(NetworkRow.files)])
            if task.network_id is not None
            else None
        )
        if network is None:
            raise VulcainError(NETWORK_GONE)
        spec = network_spec(network)
        if task.kind == TaskKind.DEPLOY:
            return spec, None
        stored = session.get(InferenceRequestRow, task_id)
        if stored is None:
            raise VulcainError(REQUEST_GONE)
        request, plan = decode_request(stored.body)
        return spec, InferenceWork(
            spec, request, task.account_id, task.name, task.create_date, recognition=plan
        )

    def _finish_deploy(self, task_id: int, network: NetworkSpec, result: DeployResult) -> None:
        inputs = [asdict(spec) for spec in result.inputs]
        kept = keep_conversion(self._db, self._storage, self._engine, network, result)
        written = False  # which runtime serves: vulcain.tasks._converted
        try:
            with self._db.session() as session:
                data = {
                    "inputs": inputs,
                    "outputs": result.final_outputs,
                    "unbatched_outputs": result.unbatched_outputs,
                    **kept.data,
                }
                written = finish_task(session, task_id, data=data)
                if written:
                    session.execute(
                        update(NetworkRow)
                        .where(NetworkRow.id == network.id)
                        .values(inputs=inputs, outputs=list(result.outputs))
                    )
                    kept.add_file(session, network.id)
        finally:
            if not written:
                kept.drop(self._db)
        if written and self._metrics is not None:
            self._metrics.tasks.labels(TaskKind.DEPLOY, TaskStatus.SUCCESS).inc()
        self._events.notify(task_id)


class InferenceRun:
    """One inference, from the moment the engine takes it: its outputs and its task id
    arrive in either order (the engine may be done before the task is committed), and
    whichever comes second records the end."""

    def __init__(self, runner: TaskRunner, work: InferenceWork) -> None:
        self._runner = runner
        self._work = work
        self._lock = threading.Lock()
        self._running = False
        self._task_id: int | None = None
        self._then: Settle | None = None
        self._live: LiveTask | None = None
        self._outputs: Future[Outputs] | None = None
        self._dropped = False
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[Ended | None]] | None = None
        """Set while :meth:`settle_within` waits for the outputs."""

    def progress(self, running: bool) -> None:
        """The engine's report (see :meth:`vulcain.inference.engine.Engine.submit`)."""
        with self._lock:
            self._running = running
            if self._live is not None:
                self._live.set_running(running)

    def written(self, task_id: int, then: Settle | None = None) -> None:
        """The task is committed as ``task_id``; ``then`` is called once its end is."""
        work, live_tasks = self._work, self._runner._live
        with self._lock:
            self._task_id, self._then = task_id, then
            if live_tasks is not None:
                self._live = live_tasks.add(
                    task_id, work.account_id, work.network.id, work.name, work.create_date
                )
                self._live.set_running(self._running)
            outputs = self._outputs
        if outputs is not None:
            self._runner._inference_done(task_id, work, self._live, then, outputs)

    def not_written(self) -> None:
        """The task could not be written: its outputs are dropped when they come."""
        with self._lock:
            self._dropped = True

    async def settle_within(self, task: NewInference, seconds: float) -> TaskView | None:
        """Wait up to ``seconds`` for the inference to end, before its task is written.
        If it does, write its task once, already ended, with no request stored (an answer
        that carries the result needs no request to run again after a crash), and return
        it. Otherwise return ``None``: the caller writes the task pending as usual, then
        calls :meth:`written`. One request in ``?wait`` mode so costs one row written
        instead of two rows and an update."""
        loop = asyncio.get_running_loop()
        with self._lock:
            outputs = self._outputs
            if outputs is None:
                future: asyncio.Future[Ended | None] = loop.create_future()
                self._waiter = (loop, future)
        if outputs is not None:
            ended = self._runner._ended(None, self._work, outputs)
        else:
            live_tasks = self._runner._live  # wakes it when the process stops
            if live_tasks is not None:
                live_tasks.hold(loop, future)
            timer = loop.call_later(max(0.0, seconds), complete, future, None)
            try:
                ended = await future
            finally:
                timer.cancel()
                if live_tasks is not None:
                    live_tasks.release(loop, future)
                with self._lock:
                    self._waiter = None
        if ended is None:  # still running, the process stopping, or the engine: pending
            return None
        with self._lock:
            self._dropped = True
        return await self._runner.write_ended(task, ended)

    def outputs_done(self, outputs: Future[Outputs]) -> None:
        with self._lock:
            if self._dropped:
                return
            if self._task_id is None:
                self._outputs = outputs  # for :meth:`written`, should the waiter give up
                waiter = self._waiter
                if waiter is None:
                    return
            else:
                task_id, live, then = self._task_id, self._live, self._then
                waiter = None
        if waiter is not None:  # encoded here, on the batcher's thread, not on the loop's
            loop, future = waiter
            loop.call_soon_threadsafe(
                complete, future, self._runner._ended(None, self._work, outputs)
            )
            return
        self._runner._inference_done(task_id, self._work, live, then, outputs)


def _task_data(work: InferenceWork, outputs: Outputs) -> bytes:
    """The tensors asked for, or the labels of a recognition."""
    if work.recognition is None:
        return encode_tensors(work.request.output_tensors, outputs)
    framing = outputs.framing if isinstance(outputs, FramedOutputs) else None
    return recognition_data(work.recognition, outputs, framing)


def _message(task_id: int | None, error: BaseException, request_id: str | None = None) -> str:
    """The sentence a failed task stores: the user's error, or a pointer to the log."""
    if isinstance(error, VulcainError):
        return error.message
    extra = {"task_id": task_id, "request_id": request_id}
    if task_id is None:  # held by ?wait, not written yet
        log.error("an inference failed", exc_info=error, extra=extra)
    else:
        log.error("task %s failed", task_id, exc_info=error, extra=extra)
    return INTERNAL_ERROR

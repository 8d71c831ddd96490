from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import cast

from vulcain.tasks.payloads import InferenceWork
from vulcain.tasks.queue import InProcessQueue


def test_in_process_queue_runs_each_task_and_knows_no_backlog():
    ran: list[int] = []
    done = threading.Event()

    def run(task_id: int) -> Future[None]:
        ran.append(task_id)
        if len(ran) == 3:
            done.set()
        future: Future[None] = Future()
        future.set_result(None)
        return future

    queue = InProcessQueue(2, run)
    assert queue.backlog() is None
    queue.start()
    try:
        for task_id in (1, 2, 3):
            queue.submit(task_id)
        assert done.wait(10)
    finally:
        queue.close()
    assert sorted(ran) == [1, 2, 3]


class _Begun:
    def __init__(self, work: object, log: list[tuple[str, object, int | None, int]]) -> None:
        self.work, self.log = work, log
        log.append(("begun", work, None, threading.get_ident()))

    def written(self, task_id: int) -> None:
        self.log.append(("written", self.work, task_id, threading.get_ident()))

    def not_written(self) -> None:
        self.log.append(("not written", self.work, None, threading.get_ident()))


def test_an_inference_with_its_work_starts_on_the_callers_thread():
    pooled: list[int] = []
    log: list[tuple[str, object, int | None, int]] = []
    work = cast("InferenceWork", object())  # the queue only hands it on
    queue = InProcessQueue(1, pooled.append, lambda given: _Begun(given, log))
    queue.start()
    try:
        queue.submit(7, work)
        queue.submit(8)
    finally:
        queue.close()
    here = threading.get_ident()
    assert log == [("begun", work, None, here), ("written", work, 7, here)]
    assert pooled == [8]


def test_an_inference_begins_before_its_task_is_written():
    log: list[tuple[str, object, int | None, int]] = []
    work = cast("InferenceWork", object())
    queue = InProcessQueue(1, lambda task_id: None, lambda given: _Begun(given, log))
    begun = queue.begin(work)
    assert begun is not None and [entry[0] for entry in log] == ["begun"]
    begun.written(9)
    assert log[-1][:3] == ("written", work, 9)


def test_a_task_whose_run_failed_is_submitted_again():
    attempts: list[int] = []
    done = threading.Event()

    def run(task_id: int) -> None:
        attempts.append(task_id)
        if len(attempts) == 1:
            raise ConnectionError("the database is unreachable")
        done.set()

    queue = InProcessQueue(1, run, retry_seconds=0.1)
    queue.start()
    try:
        queue.submit(5)
        assert done.wait(30)
    finally:
        queue.close()
    assert attempts == [5, 5]

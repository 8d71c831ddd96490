from __future__ import annotations

import threading
from concurrent.futures import Future

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


def test_an_inference_with_its_work_starts_on_the_callers_thread():
    pooled: list[int] = []
    started: list[tuple[int, object, int]] = []
    work = object()
    queue = InProcessQueue(
        1,
        pooled.append,
        lambda task_id, given: started.append((task_id, given, threading.get_ident())),
    )
    queue.start()
    try:
        queue.submit(7, work)
        queue.submit(8)
    finally:
        queue.close()
    assert started == [(7, work, threading.get_ident())]
    assert pooled == [8]

"""OpenCV's thread pool shared by forward passes: a pass alone gets every thread, passes
that queue up run side by side on one thread each."""

from __future__ import annotations

import threading

import cv2

from vulcain.runtimes._opencv_threads import ForwardSlots


def test_a_forward_alone_gets_every_thread():
    slots = ForwardSlots(cores=2)
    with slots.forward():
        assert cv2.getNumThreads() == 2


def test_forwards_that_queue_run_side_by_side_on_one_thread_each():
    slots = ForwardSlots(cores=2, side_by_side_seconds=60)
    first_running = threading.Event()
    release_first = threading.Event()
    seen: dict[str, int] = {}
    both_running = threading.Barrier(2, timeout=10)

    def first() -> None:
        with slots.forward():
            first_running.set()
            release_first.wait(10)

    def later(name: str) -> None:
        with slots.forward():
            seen[name] = cv2.getNumThreads()
            both_running.wait()

    alone = threading.Thread(target=first)
    alone.start()
    assert first_running.wait(10)
    waiting = [threading.Thread(target=later, args=(name,)) for name in ("a", "b")]
    for thread in waiting:
        thread.start()
    release_first.set()  # the two that queued behind it now run together
    for thread in [alone, *waiting]:
        thread.join(10)
    assert seen == {"a": 1, "b": 1}


def test_after_a_quiet_moment_a_forward_alone_gets_every_thread_again():
    slots = ForwardSlots(cores=2, side_by_side_seconds=0.0)
    running = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with slots.forward():
            running.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert running.wait(10)
    counts: list[int] = []
    waiter = threading.Thread(target=lambda: counts.append(_threads_of_a_forward(slots)))
    waiter.start()
    release.set()
    for thread in (holder, waiter):
        thread.join(10)
    assert counts == [2]
    assert _threads_of_a_forward(slots) == 2


def _threads_of_a_forward(slots: ForwardSlots) -> int:
    with slots.forward():
        return cv2.getNumThreads()

"""OpenCV's one thread pool, shared by the forward passes of every Caffe network.

OpenCV spreads each layer of a forward pass over a process-wide pool of threads, with a
barrier at the end of every layer, so a pass runs at the pace of its slowest thread: any
other work on the cores (decoding the next images, another forward pass) stalls it at
each barrier, and the cores it leaves waiting are lost. Measured on 2 cores with the
open_nsfw ResNet: one pass on both threads did 42 images/s alone but 32 once decoding and
request handling took a tenth of a core; two copies of the network running side by side
on one thread each did 47 alone and 42 beside the same work.

So a forward pass that starts while nothing else is asking gets every thread (lowest
latency), and while forward passes queue up they run side by side on one thread each
(highest throughput). The thread count only changes while no pass runs, and side by side
stays chosen for a moment after the last queueing, so steady load does not flip back and
forth.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import cv2

from vulcain.cores import core_count

SIDE_BY_SIDE_SECONDS = 1.0
"""How long after forward passes last had to queue they keep running side by side."""


class ForwardSlots:
    """Admits OpenCV forward passes: alone on every thread, or up to ``cores`` side by
    side on one thread each (thread-safe)."""

    def __init__(self, cores: int, side_by_side_seconds: float = SIDE_BY_SIDE_SECONDS) -> None:
        self._cores = max(1, cores)
        self._side_by_side_seconds = side_by_side_seconds
        self._cond = threading.Condition()
        self._running = 0
        self._alone = False
        self._side_by_side_until = 0.0

    @contextmanager
    def forward(self) -> Iterator[None]:
        """Hold a slot for one forward pass."""
        with self._cond:
            while self._alone or self._running >= self._cores:
                self._side_by_side_until = time.monotonic() + self._side_by_side_seconds
                self._cond.wait()
            alone = self._running == 0 and time.monotonic() >= self._side_by_side_until
            if self._running == 0:
                cv2.setNumThreads(self._cores if alone else 1)
            self._running += 1
            self._alone = alone
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._alone = False
                self._cond.notify_all()


FORWARD_SLOTS = ForwardSlots(core_count())
"""The slots of this process: OpenCV's thread pool is process-wide, so are they."""

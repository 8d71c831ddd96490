"""How long one image's preparation may run, and how a stopping engine interrupts it.

Decoding is bounded by the image's pixels, but what a request asks of an image (a
polygon of many points) may cost far more; a preparation thread that such a request held
would stall every network, and a task that runs again at each start would hold it again.
So each image gets a budget of CPU time on its preparation thread (CPU time, not wall
time: a busy machine slows every request alike and fails none for it), looked at between
steps and inside the steps a request can inflate.
"""

from __future__ import annotations

import threading
import time

from vulcain.errors import ImageError


class ShuttingDown(Exception):
    """The engine stopped before this request ran: its task stays pending (and runs at
    the next start)."""


class ImageBudget:
    """The CPU time left to prepare one image on the calling thread."""

    def __init__(self, cpu_seconds: float, stopping: threading.Event, index: int) -> None:
        self._cpu_seconds = cpu_seconds
        self._stopping = stopping
        self._index = index
        self._started = time.thread_time()

    def check(self) -> None:
        """Raise :class:`ShuttingDown` once the engine stops, and
        :class:`vulcain.errors.ImageError` once the budget is spent."""
        if self._stopping.is_set():
            raise ShuttingDown("the engine stopped while this request was being prepared")
        if time.thread_time() - self._started > self._cpu_seconds:
            raise ImageError(
                f"inputs[{self._index}].image: preparing this image took more than "
                f"{self._cpu_seconds:g} s of CPU time, the limit (VULCAIN_IMAGE_CPU_SECONDS); "
                "send a smaller image or a polygon with fewer points."
            )

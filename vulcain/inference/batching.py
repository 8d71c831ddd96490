"""Dynamic batching of forward passes for one loaded model.

Modelled on MLServer's adaptive batcher: a queue of (tensors, future), flushed when the
batch is full or its oldest item has waited ``max_delay_s``, results split back per item,
and only the items that fail are failed. The batcher wraps the runtime's ``forward``; the
runtime never sees it.

Waiting only pays when more items are on their way, so the batcher waits for a fuller
batch only while other requests for the model are still being decoded and preprocessed
(:meth:`Batcher.preparing`); a lone request runs at once.

A batcher may be given several forwards (one per copy of a network that runs one forward
at a time): each has its own thread taking the next batch from the one queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from vulcain.metrics import NetworkMetrics

logger = logging.getLogger(__name__)

Forward = Callable[[Mapping[str, np.ndarray], Sequence[str]], dict[str, np.ndarray]]


@dataclass
class BatchItem:
    """One request's tensors, each with a leading batch dimension of 1."""

    feeds: dict[str, np.ndarray]
    outputs: tuple[str, ...]
    future: Future[dict[str, np.ndarray]] = field(default_factory=Future)
    running: Callable[[bool], None] | None = None
    """Told ``False`` when the item must wait behind others (a batch running, items
    queued before it), ``True`` when its own batch starts."""
    enqueued: float = field(default_factory=time.monotonic)

    @property
    def shape_key(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        return tuple((name, array.shape) for name, array in sorted(self.feeds.items()))


class Batcher:
    """Runs the forward passes of one model in batches, one thread per forward."""

    def __init__(
        self,
        forwards: Sequence[Forward],
        *,
        max_batch_size: int,
        max_delay_s: float,
        name: str,
        metrics: NetworkMetrics | None = None,
    ) -> None:
        self._forwards = list(forwards)
        self._metrics = metrics
        # The copies share the batch: with all of them busy, as many requests are in
        # forward passes as one full batch, and the next ones wait prepared, ready to go
        # as soon as a copy is free (copies that each took a full batch would all end at
        # once, leaving nothing prepared).
        self._max_batch_size = max(1, max_batch_size // len(self._forwards))
        self._max_delay_s = max(0.0, max_delay_s)
        self._queue: deque[BatchItem] = deque()
        self._cond = threading.Condition()
        self._preparing = 0
        self._idle = len(forwards)
        self._closed = False
        self.batch_sizes: Counter[int] = Counter()
        """How many batches of each size ran: what batching achieved, for metrics."""
        self._threads = [
            threading.Thread(
                target=self._loop, args=(forward,), name=f"batcher-{name}-{index}", daemon=True
            )
            for index, forward in enumerate(forwards)
        ]
        for thread in self._threads:
            thread.start()

    @contextmanager
    def preparing(self) -> Iterator[None]:
        """Declare a request on its way (being decoded), so a batch may wait for it."""
        with self._cond:
            self._preparing += 1
        try:
            yield
        finally:
            with self._cond:
                self._preparing -= 1
                self._cond.notify_all()

    def submit(self, item: BatchItem) -> Future[dict[str, np.ndarray]]:
        with self._cond:
            if not self._closed:
                if item.running is not None and (self._queue or not self._idle):
                    item.running(False)
                self._queue.append(item)
                self._cond.notify_all()
                if self._metrics is not None:
                    self._metrics.queued.inc()
                return item.future
        self._run(self._forwards[0], [item])
        return item.future

    def close(self, *, wait: bool = False, dropping: BaseException | None = None) -> None:
        """Stop once the queued items have run (``wait`` for that); later items run on
        the caller's thread. With ``dropping``, items still queued are failed with it
        instead (the batches running finish)."""
        dropped: list[BatchItem] = []
        with self._cond:
            self._closed = True
            if dropping is not None:
                dropped, self._queue = list(self._queue), deque()
            self._cond.notify_all()
        if dropping is not None:
            for item in dropped:
                item.future.set_exception(dropping)
            if self._metrics is not None:
                self._metrics.queued.dec(len(dropped))
        if wait:
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join()

    def _loop(self, forward: Forward) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            for item in batch:
                if item.running is not None:
                    item.running(True)
            if self._metrics is not None:
                self._record_start(batch, time.monotonic())
            try:
                self._run(forward, batch)
            finally:
                with self._cond:
                    self._idle += 1

    def _next_batch(self) -> list[BatchItem] | None:
        with self._cond:
            while True:
                while not self._queue:
                    if self._closed:
                        return None
                    self._cond.wait()
                deadline = self._queue[0].enqueued + self._max_delay_s
                while self._queue and len(self._queue) < self._max_batch_size and self._preparing:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                if self._queue:  # another thread may have taken them meanwhile
                    break
            self._idle -= 1
            batch = self._take_compatible()
            self.batch_sizes[len(batch)] += 1
            return batch

    def _take_compatible(self) -> list[BatchItem]:
        """Up to ``max_batch_size`` items shaped like the oldest, keeping the others' order."""
        key = self._queue[0].shape_key
        batch: list[BatchItem] = []
        kept: deque[BatchItem] = deque()
        while self._queue and len(batch) < self._max_batch_size:
            item = self._queue.popleft()
            (batch if item.shape_key == key else kept).append(item)
        self._queue.extendleft(reversed(kept))
        return batch

    def _record_start(self, batch: list[BatchItem], started: float) -> None:
        metrics = self._metrics
        assert metrics is not None
        metrics.queued.dec(len(batch))
        metrics.batch_size.observe(len(batch))
        queue = metrics.stages["queue"]
        for item in batch:
            queue.observe(started - item.enqueued)

    def _run(self, forward: Forward, batch: list[BatchItem]) -> None:
        started = time.monotonic()
        try:
            results = _forward_batch(forward, batch)
        except Exception as error:
            if len(batch) == 1:
                self._record_forward(batch, started)
                batch[0].future.set_exception(error)
                return
            logger.info("a batch of %d failed (%s); running its items alone", len(batch), error)
            for item in batch:
                self._run(forward, [item])
            return
        self._record_forward(batch, started)  # before the answers go out
        for item, result in zip(batch, results, strict=True):
            item.future.set_result(result)

    def _record_forward(self, batch: list[BatchItem], started: float) -> None:
        if self._metrics is not None:
            seconds = time.monotonic() - started
            forward = self._metrics.stages["forward"]
            for _ in batch:
                forward.observe(seconds)


def _forward_batch(forward: Forward, batch: list[BatchItem]) -> list[dict[str, np.ndarray]]:
    if len(batch) == 1:
        item = batch[0]
        return [forward(item.feeds, list(item.outputs))]
    names = list(dict.fromkeys(name for item in batch for name in item.outputs))
    feeds = {name: np.concatenate([item.feeds[name] for item in batch]) for name in batch[0].feeds}
    results = forward(feeds, names)
    for name in names:
        if results[name].shape[:1] != (len(batch),):
            raise ValueError(
                f"output {name!r} of shape {results[name].shape} has no batch dimension"
            )
    return [
        {name: results[name][index : index + 1] for name in item.outputs}
        for index, item in enumerate(batch)
    ]

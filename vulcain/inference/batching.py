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

An output is split per item only where its first dimension was seen to be the batch: 1
for one item, ``n`` for ``n`` items, the rest of its shape alike (:func:`batch_axes`). The
deployment learns this for the network's own outputs from a batch of one and a batch of
two (:meth:`Batcher.learn`); any other name is learnt from the first batch asking for it,
whose first item then runs alone. A request asking for an output that does not scale with
the batch (a Faster-RCNN's proposals, a product across the batch) always runs alone.
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
        self._batch_axis: dict[str, bool] = {}
        """Whether each output name seen has the batch as first dimension."""
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

    @property
    def batches(self) -> bool:
        """Whether it may run more than one item in a forward pass."""
        return self._max_batch_size > 1

    def learn(self, axes: Mapping[str, bool]) -> None:
        """Record whether each output's first dimension is the batch (see :func:`batch_axes`)."""
        with self._cond:
            self._batch_axis.update(axes)

    def run_alone(self) -> None:
        """Run every item alone from now on (the network cannot run a batch)."""
        with self._cond:
            self._max_batch_size = 1

    @property
    def unbatched_outputs(self) -> list[str]:
        """The outputs seen not to scale with the batch: requests for them run alone."""
        with self._cond:
            return sorted(name for name, batched in self._batch_axis.items() if not batched)

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
        """Up to ``max_batch_size`` items shaped like the oldest, keeping the others' order;
        the oldest alone when it asks for an output that does not scale with the batch."""
        if self._alone(self._queue[0]):
            return [self._queue.popleft()]
        key = self._queue[0].shape_key
        batch: list[BatchItem] = []
        kept: deque[BatchItem] = deque()
        while self._queue and len(batch) < self._max_batch_size:
            item = self._queue.popleft()
            (batch if item.shape_key == key and not self._alone(item) else kept).append(item)
        self._queue.extendleft(reversed(kept))
        return batch

    def _alone(self, item: BatchItem) -> bool:
        return any(self._batch_axis.get(name) is False for name in item.outputs)

    def _record_start(self, batch: list[BatchItem], started: float) -> None:
        metrics = self._metrics
        assert metrics is not None
        metrics.queued.dec(len(batch))
        metrics.batch_size.observe(len(batch))
        queue = metrics.stages["queue"]
        for item in batch:
            queue.observe(started - item.enqueued)

    def _run(
        self,
        forward: Forward,
        batch: list[BatchItem],
        one_shapes: Mapping[str, tuple[int, ...]] | None = None,
    ) -> None:
        """Run ``batch`` and complete its futures. ``one_shapes`` are the shapes of every
        output it asks for, just measured on one item to learn their batch axes."""
        if len(batch) > 1 and one_shapes is None and self._unknown_outputs(batch):
            self._learn_and_run(forward, batch)
            return
        started = time.monotonic()
        try:
            results = self._forward_batch(forward, batch, one_shapes or {})
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

    def _unknown_outputs(self, batch: list[BatchItem]) -> list[str]:
        with self._cond:
            return [name for name in _names(batch) if name not in self._batch_axis]

    def _learn_and_run(self, forward: Forward, batch: list[BatchItem]) -> None:
        """Run the first item alone, fetching every name the batch asks for, then the others
        together: the two sets of shapes tell which outputs scale with the batch."""
        first, others = batch[0], batch[1:]
        names = _names(batch)
        started = time.monotonic()
        try:
            alone = forward(first.feeds, names)
        except Exception as error:
            self._record_forward([first], started)
            first.future.set_exception(error)
            self._run(forward, others)  # still unknown: the next item runs alone first
            return
        self._record_forward([first], started)
        first.future.set_result({name: alone[name] for name in first.outputs})
        self._run(forward, others, {name: alone[name].shape for name in names})

    def _forward_batch(
        self,
        forward: Forward,
        batch: list[BatchItem],
        one_shapes: Mapping[str, tuple[int, ...]],
    ) -> list[dict[str, np.ndarray]]:
        if len(batch) == 1:
            item = batch[0]
            return [forward(item.feeds, list(item.outputs))]
        names = _names(batch)
        feeds = {
            name: np.concatenate([item.feeds[name] for item in batch]) for name in batch[0].feeds
        }
        results = forward(feeds, names)
        with self._cond:
            axes = {
                name: results[name].shape[:1] == (len(batch),)
                and self._batch_axis.get(name, _scales(one_shapes.get(name), results[name]))
                for name in names
            }
            self._batch_axis.update(axes)
        unbatched = [name for name, batched in axes.items() if not batched]
        if unbatched:
            raise ValueError(f"outputs {unbatched} do not scale with the batch")
        return [
            {name: results[name][index : index + 1] for name in item.outputs}
            for index, item in enumerate(batch)
        ]

    def _record_forward(self, batch: list[BatchItem], started: float) -> None:
        if self._metrics is not None:
            seconds = time.monotonic() - started
            forward = self._metrics.stages["forward"]
            for _ in batch:
                forward.observe(seconds)


def batch_axes(
    one: Mapping[str, np.ndarray], batch: Mapping[str, np.ndarray], size: int
) -> dict[str, bool]:
    """Whether each output's first dimension is the batch, from the outputs of one item
    (``one``) and of ``size`` items (``batch``): 1 and ``size``, the rest of the shape alike."""
    return {
        name: _scales(tensor.shape, batch[name]) and batch[name].shape[:1] == (size,)
        for name, tensor in one.items()
    }


def _scales(one_shape: tuple[int, ...] | None, batched: np.ndarray) -> bool:
    """Whether ``batched`` (the output of several items) grew from ``one_shape`` (of one
    item, None when unknown) along its first dimension only."""
    if one_shape is None:
        return False
    return one_shape[:1] == (1,) and batched.shape[1:] == one_shape[1:]


def _names(batch: list[BatchItem]) -> list[str]:
    return list(dict.fromkeys(name for item in batch for name in item.outputs))

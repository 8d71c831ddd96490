"""The inference engine: loaded models, and one request from images to tensors.

Deployment and inference tasks call this; it never sees HTTP or the database. A network
is described by a :class:`~vulcain.inference.network_spec.NetworkSpec`; the engine lays its
files out in a folder, loads the runtime once and keeps it in a bounded cache shared by
every caller.

A request crosses two threads here: one of the preparation threads (shared by every
network, which take their turns: :mod:`vulcain.inference.fair_queue`) decodes and
preprocesses its images, then the model's batcher thread runs it forward, alone or with
others, and completes its future. The checks of what a request may ask (how many inputs,
which output names) belong to the caller, which knows the deployed network; an unknown
name that slips through fails in the runtime, for that request only.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from vulcain.cores import core_count
from vulcain.errors import UnknownTensorError
from vulcain.inference._model_cache import LoadedModel, ModelCache
from vulcain.inference.acceleration import OFF, Acceleration, accelerate, reference_spec
from vulcain.inference.batching import BatchItem, batch_axes
from vulcain.inference.budget import ImageBudget, ShuttingDown
from vulcain.inference.fair_queue import FairQueue
from vulcain.inference.framing import Framing, framing
from vulcain.inference.network_spec import NetworkSpec
from vulcain.inference.preparation import (
    decode_located,
    model_feeds,
    warmup_image,
)
from vulcain.inference.settings import EngineSettings
from vulcain.inference.sources import read_source
from vulcain.metrics import Metrics
from vulcain.runtimes.base import TensorSpec
from vulcain.schemas import InferenceRequest

Outputs = dict[str, np.ndarray]
"""The tensors of one request by output name, each with a batch dimension of 1."""


class FramedOutputs(dict[str, np.ndarray]):
    """:data:`Outputs`, with where the first network input lies in the request's first
    image (what maps boxes found by the network back to the image)."""

    def __init__(self, outputs: Outputs, framing: Framing) -> None:
        super().__init__(outputs)
        self.framing = framing


Progress = Callable[[bool], None]
"""Told whether a request is being worked on (``True``: prepared or run forward) or waits
(``False``: queued for its forward pass)."""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TensorRequest:
    """Tensors already preprocessed, fed as they are: ``feeds`` by input name, each with a
    batch dimension of 1; ``outputs`` the names to return (empty: the network's own)."""

    feeds: dict[str, np.ndarray]
    outputs: tuple[str, ...] = ()


_Request = tuple[
    NetworkSpec, InferenceRequest | TensorRequest, Progress | None, Future[Outputs], bool
]


@dataclass(frozen=True)
class DeployResult:
    """What a successful deployment learnt: the network's inputs and every name that
    inference may ask for (stored so the API can refuse unknown names at once)."""

    inputs: list[TensorSpec]
    outputs: list[str]
    final_outputs: list[str]
    """The network's own outputs (what it computes last): the names worth offering first."""
    acceleration: Acceleration | None = None
    """Which runtime serves a Caffe or TensorFlow network, and why (None for ONNX)."""
    runtime: str = ""
    """The engine of the reference runtime (what loaded and warmed up)."""
    memory_bytes: int = 0
    """What the reference runtime's copies took in resident memory, together."""
    copies: int = 1
    unbatched_outputs: list[str] = field(default_factory=list)
    """The network's own outputs that do not scale with the batch: requests asking for one
    of them run alone."""


class Engine:
    """Loads networks on demand and runs inference requests on them (thread-safe)."""

    def __init__(
        self,
        settings: EngineSettings,
        blob_path: Callable[[str], Path],
        metrics: Metrics | None = None,
    ) -> None:
        # Threads, deliberately: each model's forward passes run one at a time on its
        # batcher thread, with the frameworks' own pools sized to the cores this process
        # may use (onnxruntime and TensorFlow per session; OpenCV's one pool, shared by
        # Caffe forwards and resizes, here); decoding and preprocessing run on
        # ``preprocess_threads`` threads, mostly while a forward pass waits on its pool.
        cv2.setNumThreads(core_count())
        self.settings = settings
        self._metrics = metrics
        self._policy = settings.fetch
        self._models = ModelCache(
            settings.work_dir / "models",
            blob_path,
            self._check_and_warm_up,
            max_models=settings.max_models,
            memory_budget_bytes=int(settings.models_memory_mb * 2**20),
            max_batch_size=settings.max_batch_size,
            max_queue_delay_s=settings.max_queue_delay_ms / 1000,
            copies=settings.model_copies or core_count(),
            metrics=metrics,
            converted=settings.accelerate != OFF,
        )
        # Requests wait for a preparation thread in a queue served in turn by network (a
        # burst for one network holds no other behind it); each already carries the
        # future its batch item completes, so an executor's own future and work item per
        # request would be pure overhead.
        self._requests: FairQueue[_Request] = FairQueue()
        self._closed = False
        self._stopping = threading.Event()
        """Set by :meth:`close`: preparations in progress stop at their next check."""
        self._preparers = [
            threading.Thread(
                target=self._prepare_loop, name=f"vulcain-prepare-{index}", daemon=True
            )
            for index in range(max(1, settings.preprocess_threads))
        ]
        for thread in self._preparers:
            thread.start()

    def deploy(
        self, network: NetworkSpec, samples: Sequence[Sequence[np.ndarray]] = ()
    ) -> DeployResult:
        """Load the network afresh on its reference runtime, check every preprocessing
        ``tensor_name`` can be fed, run one warm-up forward pass; then try its conversion to
        ONNX (:func:`~vulcain.inference.acceleration.accelerate`, also run on ``samples``:
        decoded images, one per preprocessing input). Raise
        :class:`vulcain.errors.VulcainError` with the cause."""
        started = time.perf_counter()
        try:
            self._models.evict(network.id)
            model = self._models.get(reference_spec(network))
            acceleration = accelerate(
                model,
                self.settings.work_dir / "converted",
                mode=self.settings.accelerate,
                samples=samples,
            )
            runtime = model.runtime
            return DeployResult(
                inputs=runtime.inputs(),
                outputs=runtime.outputs(),
                final_outputs=runtime.final_outputs(),
                acceleration=acceleration,
                runtime=runtime.engine,
                memory_bytes=model.memory_bytes,
                copies=len(model.runtimes),
                unbatched_outputs=model.batcher.unbatched_outputs,
            )
        finally:
            if self._metrics is not None:
                self._metrics.deploy_seconds.observe(time.perf_counter() - started)

    def serve(self, network: NetworkSpec) -> int:
        """Load ``network`` in place of what is loaded for it (once its deployment added
        its converted file) and return the resident bytes it took."""
        self._models.evict(network.id)
        gc.collect()  # the evicted model's runtimes close as their last reference goes
        return self._models.get(network).memory_bytes

    def _check_and_warm_up(self, model: LoadedModel) -> None:
        """Run on every model the cache loads, before it serves anything."""
        runtime = model.runtime
        for index, entry in enumerate(model.network.preprocessing.inputs):
            if not runtime.can_feed(entry.tensor_name):
                known = ", ".join(spec.name for spec in runtime.inputs()) or "none"
                raise UnknownTensorError(
                    f"preprocessing.inputs[{index}].tensor_name: the network has no input "
                    f"{entry.tensor_name!r} (its inputs: {known})"
                )
        warmup = [warmup_image(entry.image.target) for entry in model.network.preprocessing.inputs]
        feeds = model_feeds(model, [warmup])
        results = [copy.forward(feeds, runtime.final_outputs()) for copy in model.runtimes]
        if model.batcher.batches:
            _learn_batch_axes(model, warmup, results[0])

    def infer(self, network: NetworkSpec, request: InferenceRequest) -> Outputs:
        """Run one request and wait for its tensors."""
        return self.submit(network, request).result()

    def submit(
        self,
        network: NetworkSpec,
        request: InferenceRequest | TensorRequest,
        progress: Progress | None = None,
        *,
        framed: bool = False,
    ) -> Future[Outputs]:
        """Start one request: ``request.inputs`` match the network's preprocessing inputs,
        in order; or a :class:`TensorRequest`, which skips decoding and preprocessing.
        ``progress`` follows it: ``True`` while it is worked on or is next in line (nothing
        before it to prepare, no batch before it to run), ``False`` while it waits behind
        other work.
        The future holds the tensors of the requested outputs or the error; its callbacks
        run on the batcher's thread: keep them short. With ``framed`` (an
        :class:`InferenceRequest`), the tensors come as :class:`FramedOutputs`."""
        if self._closed:
            raise ShuttingDown("the engine is stopping")
        result: Future[Outputs] = Future()
        if progress is not None:
            progress(self._requests.empty())
        self._requests.put(network.id, (network, request, progress, result, framed))
        return result

    def _prepare_loop(self) -> None:
        while (job := self._requests.get()) is not None:
            if self._closed:  # stopping: what was not taken up yet stays pending
                job[3].set_exception(ShuttingDown("the engine stopped before this request"))
                continue
            self._prepare(*job)

    def _prepare(
        self,
        network: NetworkSpec,
        request: InferenceRequest | TensorRequest,
        progress: Progress | None,
        result: Future[Outputs],
        framed: bool,
    ) -> None:
        if progress is not None:
            progress(True)
        try:
            model = self._models.get(network)
            with model.batcher.preparing():
                if isinstance(request, TensorRequest):
                    feeds = request.feeds
                    outputs = request.outputs or tuple(model.runtime.final_outputs())
                else:
                    feeds, frame = self._feeds(model, request, observe=True, framed=framed)
                    outputs = tuple(request.output_tensors)
                    if frame is not None:
                        result = _framed(result, frame)
                model.batcher.submit(BatchItem(feeds, outputs, result, progress))
        except Exception as error:
            result.set_exception(error)

    def _feeds(
        self, model: LoadedModel, request: InferenceRequest, *, observe: bool, framed: bool = False
    ) -> tuple[dict[str, np.ndarray], Framing | None]:
        """Read, decode and preprocess the images of ``request`` into ``model``'s feeds
        (timing each stage in the model's metrics when ``observe``), with where the first
        input lies in its image when ``framed``."""
        started = time.perf_counter()
        sources = [read_source(item.image.source, self._policy) for item in request.inputs]
        read = time.perf_counter()
        images, frame = [], None
        for index, (data, item) in enumerate(zip(sources, request.inputs, strict=True)):
            region, size, box = decode_located(
                data,
                item.image,
                self._policy.max_pixels,
                self.settings.max_polygon_points,
                ImageBudget(self.settings.image_cpu_seconds, self._stopping, index).check,
            )
            if framed and frame is None:  # where the first input lies in its image
                frame = framing(size, box, model.network.preprocessing.inputs[0].image)
            images.append(region)
        decoded = time.perf_counter()
        feeds = model_feeds(model, [images])
        if observe and model.metrics is not None:
            stages = model.metrics.stages
            stages["read"].observe(read - started)
            stages["decode"].observe(decoded - read)
            stages["preprocess"].observe(time.perf_counter() - decoded)
        return feeds, frame

    def preprocess(self, network: NetworkSpec, request: InferenceRequest) -> Outputs:
        """The tensors ``network`` would be fed for ``request``, by input name (``im_info``
        included where the network takes it), each with a batch dimension of 1; no forward
        pass runs. Blocks: call it from a worker thread."""
        return self._feeds(self._models.get(network), request, observe=False)[0]

    def final_outputs(self, network: NetworkSpec) -> list[str]:
        """The network's own outputs (what a request naming none returns). Blocks: it
        loads the network when it is not loaded."""
        return self._models.get(network).runtime.final_outputs()

    def output_examples(self, network: NetworkSpec) -> Outputs:
        """The network's own outputs for a grey image of each input's target size, run
        through its batcher: what their shapes and dtypes are. Blocks."""
        model = self._models.get(network)
        grey = [warmup_image(entry.image.target) for entry in network.preprocessing.inputs]
        result: Future[Outputs] = Future()
        finals = tuple(model.runtime.final_outputs())
        model.batcher.submit(BatchItem(model_feeds(model, [grey]), finals, result))
        return result.result()

    def evict(self, network_id: int) -> None:
        """Forget a loaded network (after delete)."""
        self._models.evict(network_id)

    def close(self) -> None:
        """Stop: batches running forward finish; requests being prepared stop at their
        next check (between steps, and as a polygon is filled); those and the requests
        not taken up yet or queued for a forward pass fail with :class:`ShuttingDown`.
        Then release every loaded network."""
        self._closed = True
        self._stopping.set()
        for _ in self._preparers:
            self._requests.stop()
        for thread in self._preparers:
            thread.join()
        self._models.clear(dropping=ShuttingDown("the engine stopped before this request"))


def _learn_batch_axes(model: LoadedModel, warmup: list[np.ndarray], alone: Outputs) -> None:
    """Run the warm-up images in a batch of two (beside other images) and tell the batcher
    which of the network's outputs scale with the batch (those ``alone`` has for one item)."""
    other = [
        warmup_image(entry.image.target, value=200) for entry in model.network.preprocessing.inputs
    ]
    try:
        two = model.runtime.forward(model_feeds(model, [warmup, other]), list(alone))
    except Exception as error:  # the network cannot run a batch at all
        logger.info(
            "network %s runs one image at a time: a batch failed (%s)", model.network.id, error
        )
        model.batcher.run_alone()
        model.batcher.learn(dict.fromkeys(alone, False))
        return
    axes = batch_axes(alone, two, 2)
    model.batcher.learn(axes)
    unbatched = sorted(name for name, batched in axes.items() if not batched)
    if unbatched:
        logger.info(
            "network %s: outputs %s do not scale with the batch; requests for them run alone",
            model.network.id,
            ", ".join(unbatched),
        )


def _framed(outer: Future[Outputs], frame: Framing) -> Future[Outputs]:
    """A future for the batcher whose result reaches ``outer`` with ``frame``."""
    inner: Future[Outputs] = Future()

    def forward(done: Future[Outputs]) -> None:
        error = done.exception()
        if error is not None:
            outer.set_exception(error)
        else:
            outer.set_result(FramedOutputs(done.result(), frame))

    inner.add_done_callback(forward)
    return inner

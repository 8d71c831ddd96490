"""The inference engine: loaded models, and one request from images to tensors.

Deployment and inference tasks call this; it never sees HTTP or the database. A network
is described by a :class:`NetworkSpec` (its framework, preprocessing and the blob keys of
its files); the engine lays the files out in a folder, loads the runtime once and keeps it
in a bounded cache shared by every caller.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from vulcain.cores import core_count
from vulcain.errors import BadRequest, UnknownTensorError
from vulcain.inference._model_cache import LoadedModel, ModelCache
from vulcain.inference.batching import BatchItem
from vulcain.inference.preprocessing import PreparedImage, preprocess
from vulcain.inference.regions import apply_region
from vulcain.inference.sources import FetchPolicy, decode_image, read_source
from vulcain.runtimes.base import TensorSpec
from vulcain.schemas import ImageInput, InferenceRequest, Preprocessing

logger = logging.getLogger(__name__)

IM_INFO = "im_info"


@dataclass(frozen=True)
class NetworkSpec:
    """What the engine needs to know of a network. ``files`` maps each uploaded file
    name to the sha256 key of its blob."""

    id: int
    framework: str
    preprocessing: Preprocessing
    files: Mapping[str, str]


@dataclass(frozen=True)
class DeployResult:
    """What a successful deployment learnt: the network's inputs and every name that
    inference may ask for (stored so the API can refuse unknown names at once)."""

    inputs: list[TensorSpec]
    outputs: list[str]


@dataclass(frozen=True)
class EngineSettings:
    work_dir: Path
    max_models: int = 8
    models_memory_mb: float = 0
    """Resident memory the loaded models may take together (0: no budget)."""
    fetch_allow_hosts: tuple[str, ...] = ()
    fetch_max_bytes: int = 64 * 1024 * 1024
    fetch_timeout_s: float = 15.0
    max_image_pixels: int = 100_000_000
    max_batch_size: int = 4
    max_queue_delay_ms: float = 5.0
    preprocess_threads: int = field(default_factory=core_count)

    def fetch_policy(self) -> FetchPolicy:
        return FetchPolicy(
            allow_hosts=self.fetch_allow_hosts,
            max_bytes=self.fetch_max_bytes,
            timeout_s=self.fetch_timeout_s,
            max_pixels=self.max_image_pixels,
        )


@dataclass(frozen=True)
class Tensor:
    name: str
    array: np.ndarray

    def to_json(self) -> dict[str, object]:
        shape = list(self.array.shape)
        return {
            "name": self.name,
            "shape": shape,
            "dims": shape,
            "data": self.array.ravel().tolist(),
        }


@dataclass
class StageTimes:
    """Seconds spent in each stage of one request (kserve-style explicit stages)."""

    decode: float = 0.0
    preprocess: float = 0.0
    forward: float = 0.0


class Engine:
    """Loads networks on demand and runs inference requests on them (thread-safe).

    A request is decoded and preprocessed on the engine's preprocessing threads, then
    queued to its model's batcher, so the next requests are prepared while the current
    batch runs forward."""

    def __init__(self, settings: EngineSettings, blob_path: Callable[[str], Path]) -> None:
        # Threads, deliberately: each model's forward passes run one at a time on its
        # batcher thread, with the frameworks' own pools sized to the cores this process
        # may use (onnxruntime and TensorFlow per session; OpenCV's one pool, shared by
        # Caffe forwards and resizes, here); decoding and preprocessing run on
        # ``preprocess_threads`` threads, mostly while a forward pass waits on its pool.
        cv2.setNumThreads(core_count())
        self.settings = settings
        self._policy = settings.fetch_policy()
        self._models = ModelCache(
            settings.work_dir / "models",
            blob_path,
            self._check_and_warm_up,
            max_models=settings.max_models,
            memory_budget_bytes=int(settings.models_memory_mb * 2**20),
            max_batch_size=settings.max_batch_size,
            max_queue_delay_s=settings.max_queue_delay_ms / 1000,
        )
        self._preprocessing = ThreadPoolExecutor(
            max(1, settings.preprocess_threads), thread_name_prefix="vulcain-preprocess"
        )

    def deploy(self, network: NetworkSpec) -> DeployResult:
        """Load the network afresh, check every preprocessing ``tensor_name`` can be fed,
        run one warm-up forward pass. Raise :class:`vulcain.errors.VulcainError` with the
        cause."""
        self._models.evict(network.id)
        runtime = self._models.get(network).runtime
        return DeployResult(inputs=runtime.inputs(), outputs=runtime.outputs())

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
        inputs = model.network.preprocessing.inputs
        warmup = [_warmup_image(entry.image.target) for entry in inputs]
        self._forward(model, warmup, runtime.final_outputs())

    def infer(self, network: NetworkSpec, request: InferenceRequest) -> dict[str, object]:
        """Run one request; return the task data ``{"tensors": [...]}`` of DESIGN.md 1."""
        return task_data(self.submit(network, request).result())

    def submit(self, network: NetworkSpec, request: InferenceRequest) -> Future[list[Tensor]]:
        """Start one request; its future holds the requested tensors, in order, or the
        error. Its callbacks run on the batcher's thread: keep them short."""
        expected = len(network.preprocessing.inputs)
        if len(request.inputs) != expected:
            raise BadRequest(
                f"inputs: the network takes {expected} input(s), {len(request.inputs)} given"
            )
        result: Future[list[Tensor]] = Future()
        self._preprocessing.submit(self._prepare, network, request, result)
        return result

    def _prepare(
        self, network: NetworkSpec, request: InferenceRequest, result: Future[list[Tensor]]
    ) -> None:
        times = StageTimes()
        try:
            model = self._models.get(network)
            _check_outputs(model, request.output_tensors)
            with model.batcher.preparing():
                started = time.perf_counter()
                images = [self.load_image(item.image) for item in request.inputs]
                times.decode = time.perf_counter() - started
                started = time.perf_counter()
                feeds = _feeds(model, [images])
                times.preprocess = time.perf_counter() - started
                item = BatchItem(feeds, tuple(request.output_tensors))
                model.batcher.submit(item)
        except Exception as error:
            result.set_exception(error)
            return
        started = time.perf_counter()

        def finish(done: Future[dict[str, np.ndarray]]) -> None:
            times.forward = time.perf_counter() - started
            logger.debug("network %s: %s", network.id, times)
            error = done.exception()
            if error is not None:
                result.set_exception(error)
                return
            outputs = done.result()
            result.set_result([Tensor(name, outputs[name]) for name in request.output_tensors])

        item.future.add_done_callback(finish)

    def load_image(self, image: ImageInput) -> np.ndarray:
        """Fetch or decode one input's source and apply its region (bbox, polygon, ...)."""
        data = read_source(image.source, self._policy)
        pixels = decode_image(data, self._policy.max_pixels)
        return apply_region(
            pixels,
            bbox=image.bbox,
            polygon=image.polygon,
            crop_uniform_background=image.crop_uniform_background,
        )

    def evict(self, network_id: int) -> None:
        """Forget a loaded network (after delete)."""
        self._models.evict(network_id)

    def close(self) -> None:
        """Finish the requests already submitted, then release every loaded network."""
        self._preprocessing.shutdown(wait=True)
        self._models.clear()

    def _forward(
        self, model: LoadedModel, images: Sequence[np.ndarray], outputs: Sequence[str]
    ) -> dict[str, np.ndarray]:
        return model.runtime.forward(_feeds(model, [images]), list(outputs))


def task_data(tensors: Sequence[Tensor]) -> dict[str, object]:
    """The ``data`` of a successful inference task."""
    return {"tensors": [tensor.to_json() for tensor in tensors]}


def _check_outputs(model: LoadedModel, names: Sequence[str]) -> None:
    unknown = [name for name in names if not model.runtime.has_output(name)]
    if unknown:
        raise UnknownTensorError.for_names(unknown, model.runtime.outputs())


def _feeds(model: LoadedModel, batch: Sequence[Sequence[np.ndarray]]) -> dict[str, np.ndarray]:
    inputs = model.network.preprocessing.inputs
    prepared: list[list[PreparedImage]] = [
        [
            preprocess(images[index], entry.image, model.means[index])
            for index, entry in enumerate(inputs)
        ]
        for images in batch
    ]
    feeds = {
        entry.tensor_name: np.stack([item[index].tensor for item in prepared])
        for index, entry in enumerate(inputs)
    }
    if model.needs_im_info:
        feeds[IM_INFO] = np.array([item[0].im_info for item in prepared], dtype=np.float32)
    return feeds


def _warmup_image(target: tuple[int, int] | int) -> np.ndarray:
    width, height = (target, target) if isinstance(target, int) else target
    return np.full((height, width, 3), 127, dtype=np.uint8)

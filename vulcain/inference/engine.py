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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vulcain.errors import BadRequest, UnknownTensorError
from vulcain.inference._model_cache import LoadedModel, ModelCache
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
    fetch_allow_hosts: tuple[str, ...] = ()
    fetch_max_bytes: int = 64 * 1024 * 1024
    fetch_timeout_s: float = 15.0
    max_image_pixels: int = 100_000_000

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
    """Loads networks on demand and runs inference requests on them (thread-safe)."""

    def __init__(self, settings: EngineSettings, blob_path: Callable[[str], Path]) -> None:
        self.settings = settings
        self._policy = settings.fetch_policy()
        self._models = ModelCache(
            settings.work_dir / "models", blob_path, max_models=settings.max_models
        )

    def deploy(self, network: NetworkSpec) -> DeployResult:
        """Load the network, check every preprocessing ``tensor_name`` can be fed, run one
        warm-up forward pass. Raise :class:`vulcain.errors.VulcainError` with the cause."""
        self._models.evict(network.id)
        model = self._models.get(network)
        runtime = model.runtime
        for index, entry in enumerate(network.preprocessing.inputs):
            if not runtime.can_feed(entry.tensor_name):
                known = ", ".join(spec.name for spec in runtime.inputs()) or "none"
                raise UnknownTensorError(
                    f"preprocessing.inputs[{index}].tensor_name: the network has no input "
                    f"{entry.tensor_name!r} (its inputs: {known})"
                )
        warmup = [_warmup_image(entry.image.target) for entry in network.preprocessing.inputs]
        self._forward(model, [warmup], runtime.final_outputs())
        return DeployResult(inputs=runtime.inputs(), outputs=runtime.outputs())

    def infer(self, network: NetworkSpec, request: InferenceRequest) -> dict[str, object]:
        """Run one request; return the task data ``{"tensors": [...]}`` of DESIGN.md 1."""
        expected = len(network.preprocessing.inputs)
        if len(request.inputs) != expected:
            raise BadRequest(
                f"inputs: the network takes {expected} input(s), {len(request.inputs)} given"
            )
        times = StageTimes()
        started = time.perf_counter()
        images = [self.load_image(item.image) for item in request.inputs]
        times.decode = time.perf_counter() - started
        model = self._models.get(network)
        tensors = self._forward(model, [images], request.output_tensors, times)
        logger.debug("network %s: %s", network.id, times)
        return {"tensors": [tensor.to_json() for tensor in tensors]}

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
        """Release every loaded network."""
        self._models.clear()

    def _forward(
        self,
        model: LoadedModel,
        batch: Sequence[Sequence[np.ndarray]],
        outputs: Sequence[str],
        times: StageTimes | None = None,
    ) -> list[Tensor]:
        """Preprocess ``batch`` (one list of images per item, one image per network input)
        and run it, returning the requested tensors in order."""
        times = times or StageTimes()
        started = time.perf_counter()
        feeds = _feeds(model, batch)
        times.preprocess = time.perf_counter() - started
        started = time.perf_counter()
        results = model.runtime.forward(feeds, list(outputs))
        times.forward = time.perf_counter() - started
        return [Tensor(name, np.asarray(results[name])) for name in outputs]


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

"""The inference engine: loaded models, and one request from images to tensors.

Deployment and inference tasks call this; it never sees HTTP or the database. A network
is described by a :class:`NetworkSpec` (its framework, preprocessing and the blob keys of
its files); the engine materialises the files in a folder, loads the runtime once and keeps
it in a bounded cache shared by every caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vulcain.runtimes.base import TensorSpec
from vulcain.schemas import InferenceRequest, Preprocessing


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
    extra: dict[str, object] = field(default_factory=dict)


class Engine:
    """Loads networks on demand and runs inference requests on them (thread-safe)."""

    def __init__(self, settings: EngineSettings, blob_path: Callable[[str], Path]) -> None:
        self.settings = settings
        self._blob_path = blob_path

    def deploy(self, network: NetworkSpec) -> DeployResult:
        """Load the network, check every preprocessing ``tensor_name`` can be fed, run one
        warm-up forward pass. Raise :class:`vulcain.errors.VulcainError` with the cause."""
        raise NotImplementedError

    def infer(self, network: NetworkSpec, request: InferenceRequest) -> dict[str, object]:
        """Run one request; return the task data ``{"tensors": [...]}`` of DESIGN.md 1."""
        raise NotImplementedError

    def evict(self, network_id: int) -> None:
        """Forget a loaded network (after delete)."""

    def close(self) -> None:
        """Release every loaded network."""

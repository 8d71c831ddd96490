"""Settings of the inference engine (derived from :class:`vulcain.config.Settings`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vulcain.cores import core_count
from vulcain.inference.sources import FetchPolicy


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
    model_copies: int = 0
    """Copies loaded of a network whose runtime runs one forward at a time (0: one per
    core), so that forward passes can run side by side."""
    preprocess_threads: int = field(default_factory=core_count)
    max_polygon_points: int = 1000
    """Most points of a request's polygon (the API refuses more; tasks stored before are
    refused here)."""
    image_cpu_seconds: float = 10.0
    """CPU time one image's decoding and region may take on its preparation thread."""
    accelerate: str = "auto"
    """``auto``: a Caffe or TensorFlow network is converted to ONNX at deployment and
    served by onnxruntime when it gives the same tensors; ``off``: never (networks already
    converted are served by their reference runtime too)."""

    def fetch_policy(self) -> FetchPolicy:
        return FetchPolicy(
            allow_hosts=self.fetch_allow_hosts,
            max_bytes=self.fetch_max_bytes,
            timeout_s=self.fetch_timeout_s,
            max_pixels=self.max_image_pixels,
        )

"""Settings of the inference engine, taken from :class:`vulcain.config.Settings`.

The defaults are written in :class:`~vulcain.config.Settings` only: an engine is configured
with :meth:`EngineSettings.from_settings`, and its fields carry no defaults of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vulcain.config import Settings
from vulcain.inference.sources import FetchPolicy


@dataclass(frozen=True)
class EngineSettings:
    work_dir: Path
    """The engine's working files: ``<data_dir>/engine``."""
    max_models: int
    models_memory_mb: float
    """Resident memory the loaded models may take together (0: no budget)."""
    fetch: FetchPolicy
    max_batch_size: int
    max_queue_delay_ms: float
    model_copies: int
    """Copies loaded of a network whose runtime runs one forward at a time (0: one per
    core), so that forward passes can run side by side."""
    preprocess_threads: int
    max_polygon_points: int
    """Most points of a request's polygon (the API refuses more; tasks stored before are
    refused here)."""
    image_cpu_seconds: float
    """CPU time one image's decoding and region may take on its preparation thread."""
    accelerate: str
    """``auto``: a Caffe or TensorFlow network is converted to ONNX at deployment and
    served by onnxruntime when it gives the same tensors; ``off``: never (networks already
    converted are served by their reference runtime too)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineSettings:
        """The engine's part of a process's ``settings``."""
        return cls(
            work_dir=settings.data_dir.expanduser().absolute() / "engine",
            max_models=settings.max_models,
            models_memory_mb=settings.models_memory_mb,
            fetch=FetchPolicy.from_settings(settings),
            max_batch_size=settings.max_batch_size,
            max_queue_delay_ms=settings.max_queue_delay_ms,
            model_copies=settings.model_copies,
            preprocess_threads=settings.workers,
            max_polygon_points=settings.max_polygon_points,
            image_cpu_seconds=settings.image_cpu_seconds,
            accelerate=settings.accelerate,
        )

"""The runtime alone: forward passes on already preprocessed tensors, no service around it."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vulcain.inference.means import load_mean
from vulcain.inference.preprocessing import preprocess
from vulcain.inference.sources import decode_image
from vulcain.runtimes.base import Runtime
from vulcain.schemas import ImagePreprocessing

MAX_PIXELS = 100_000_000


@dataclass
class RawResult:
    images_per_s: dict[int, float] = field(default_factory=dict)
    cpu_ms_per_image: dict[int, float] = field(default_factory=dict)
    """Process CPU time per image at each batch size: unlike images/s, barely moved by
    other processes sharing the machine."""
    single_latencies_s: list[float] = field(default_factory=list)
    references: list[dict[str, np.ndarray]] = field(default_factory=list)
    """Each image's outputs at batch size 1: what the API must answer for it."""

    @property
    def best_batch_size(self) -> int:
        return max(self.images_per_s, key=self.images_per_s.__getitem__)

    @property
    def best_images_per_s(self) -> float:
        return self.images_per_s[self.best_batch_size]

    @property
    def single_latency_ms(self) -> float:
        return statistics.median(self.single_latencies_s) * 1000

    def to_json(self) -> dict[str, object]:
        return {
            "best_images_per_s": float(f"{self.best_images_per_s:.4g}"),
            "best_batch_size": self.best_batch_size,
            "single_latency_ms": float(f"{self.single_latency_ms:.3g}"),
            "images_per_s_by_batch_size": {
                str(size): float(f"{rate:.4g}") for size, rate in self.images_per_s.items()
            },
            "best_batch_cpu_ms_per_image": float(
                f"{self.cpu_ms_per_image[self.best_batch_size]:.3g}"
            ),
            "cpu_ms_per_image_by_batch_size": {
                str(size): float(f"{cpu:.3g}") for size, cpu in self.cpu_ms_per_image.items()
            },
        }


def best_of(runs: Sequence[RawResult]) -> RawResult:
    """The best figure of several runs for each batch size, and the run with the lowest
    single-image latency: a load spike from another process during one run is discarded."""
    best = RawResult(references=runs[0].references)
    for run in runs:
        for size, rate in run.images_per_s.items():
            if rate > best.images_per_s.get(size, 0.0):
                best.images_per_s[size] = rate
                best.cpu_ms_per_image[size] = run.cpu_ms_per_image[size]
    best.single_latencies_s = min((run.single_latencies_s for run in runs), key=statistics.median)
    return best


def preprocessed_tensors(
    jpegs: Sequence[bytes], spec: ImagePreprocessing, mean_path: Path | None
) -> list[np.ndarray]:
    """Each JPEG decoded and preprocessed exactly as the service does it."""
    mean = load_mean(mean_path, spec) if mean_path is not None else None
    return [preprocess(decode_image(jpeg, MAX_PIXELS), spec, mean).tensor for jpeg in jpegs]


def decode_preprocess_ms(
    jpeg: bytes, spec: ImagePreprocessing, mean_path: Path | None, repeats: int = 15
) -> float:
    """Median time to decode and preprocess one JPEG as the service does, on one thread:
    the part of a lone request's latency that comes before the forward pass."""
    mean = load_mean(mean_path, spec) if mean_path is not None else None
    times = []
    for _ in range(repeats + 1):
        began = time.perf_counter()
        preprocess(decode_image(jpeg, MAX_PIXELS), spec, mean)
        times.append(time.perf_counter() - began)
    return statistics.median(times[1:]) * 1000


def reference_outputs(
    runtime: Runtime, input_name: str, tensors: Sequence[np.ndarray], outputs: list[str]
) -> list[dict[str, np.ndarray]]:
    """Each image's outputs at batch size 1: what a server must answer for it."""
    return [runtime.forward({input_name: tensor[np.newaxis]}, outputs) for tensor in tensors]


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def _time_batches(
    runtime: Runtime, feeds: dict[str, np.ndarray], outputs: list[str], min_seconds: float
) -> tuple[float, float]:
    """Forward passes per second, and CPU seconds per pass."""
    runtime.forward(feeds, outputs)
    passes = 0
    began, cpu = time.perf_counter(), _cpu_seconds()
    while True:
        runtime.forward(feeds, outputs)
        passes += 1
        elapsed = time.perf_counter() - began
        if passes >= 2 and elapsed >= min_seconds:
            return passes / elapsed, (_cpu_seconds() - cpu) / passes


def measure_raw(
    runtime: Runtime,
    input_name: str,
    tensors: Sequence[np.ndarray],
    outputs: list[str],
    *,
    batch_sizes: Sequence[int],
    min_seconds: float,
    single_repeats: int,
) -> RawResult:
    """Throughput per batch size, single-image latency and per-image reference outputs."""
    result = RawResult(references=reference_outputs(runtime, input_name, tensors, outputs))
    single = {input_name: tensors[0][np.newaxis]}
    for _ in range(single_repeats):
        began = time.perf_counter()
        runtime.forward(single, outputs)
        result.single_latencies_s.append(time.perf_counter() - began)
    for size in batch_sizes:
        batch = np.stack([tensors[index % len(tensors)] for index in range(size)])
        passes_per_s, cpu_per_pass = _time_batches(
            runtime, {input_name: batch}, outputs, min_seconds
        )
        result.images_per_s[size] = passes_per_s * size
        result.cpu_ms_per_image[size] = cpu_per_pass / size * 1000
    return result

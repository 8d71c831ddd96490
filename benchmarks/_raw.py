"""The runtime alone: forward passes on already preprocessed tensors, no service around it.

Two figures for a network: one copy of it run pass after pass, OpenCV spreading each pass
over all its threads (:func:`measure_raw`, the conventional raw figure); and one copy per
core run side by side, each by its own Python thread with OpenCV on one thread
(:func:`measure_copies`), as Vulcain runs its copies of a Caffe network under load.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import cv2
import numpy as np

import vulcain.runtimes.caffe
from vulcain.config import Settings
from vulcain.inference.means import load_mean
from vulcain.inference.preprocessing import preprocess
from vulcain.inference.sources import decode_image
from vulcain.runtimes.base import Runtime
from vulcain.schemas import ImagePreprocessing

MAX_PIXELS = Settings().max_image_pixels


@dataclass
class RawResult:
    images_per_s: dict[int, float] = field(default_factory=dict)
    cpu_ms_per_image: dict[int, float] = field(default_factory=dict)
    """Process CPU time per image at each batch size: unlike images/s, barely moved by
    other processes sharing the machine."""
    single_latencies_s: list[float] = field(default_factory=list)
    references: list[dict[str, np.ndarray]] = field(default_factory=list)
    """Each image's outputs at batch size 1: what the API must answer for it."""
    copies: int = 0
    """How many copies :func:`measure_copies` ran side by side (0: not measured)."""
    copies_images_per_s: dict[int, float] = field(default_factory=dict)
    """Per batch size, the images/s of all the copies together."""
    copies_cpu_ms_per_image: dict[int, float] = field(default_factory=dict)

    @property
    def best_batch_size(self) -> int:
        return max(self.images_per_s, key=self.images_per_s.__getitem__)

    @property
    def best_images_per_s(self) -> float:
        return self.images_per_s[self.best_batch_size]

    @property
    def single_latency_ms(self) -> float:
        return statistics.median(self.single_latencies_s) * 1000

    @property
    def copies_best_batch_size(self) -> int:
        return max(self.copies_images_per_s, key=self.copies_images_per_s.__getitem__)

    @property
    def copies_best_images_per_s(self) -> float:
        return self.copies_images_per_s[self.copies_best_batch_size]

    def to_json(self) -> dict[str, object]:
        found = {
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
        if self.copies_images_per_s:
            found["one_copy_per_core"] = {
                "copies": self.copies,
                "opencv_threads_each": 1,
                "best_images_per_s": float(f"{self.copies_best_images_per_s:.4g}"),
                "best_batch_size": self.copies_best_batch_size,
                "images_per_s_by_batch_size": {
                    str(size): float(f"{rate:.4g}")
                    for size, rate in self.copies_images_per_s.items()
                },
                "cpu_ms_per_image_by_batch_size": {
                    str(size): float(f"{cpu:.3g}")
                    for size, cpu in self.copies_cpu_ms_per_image.items()
                },
            }
        return found


def best_of(runs: Sequence[RawResult]) -> RawResult:
    """The best figure of several runs for each batch size, and the run with the lowest
    single-image latency: a load spike from another process during one run is discarded."""
    best = RawResult(references=runs[0].references)
    for run in runs:
        for size, rate in run.images_per_s.items():
            if rate > best.images_per_s.get(size, 0.0):
                best.images_per_s[size] = rate
                best.cpu_ms_per_image[size] = run.cpu_ms_per_image[size]
        for size, rate in run.copies_images_per_s.items():
            if rate > best.copies_images_per_s.get(size, 0.0):
                best.copies_images_per_s[size] = rate
                best.copies_cpu_ms_per_image[size] = run.copies_cpu_ms_per_image[size]
                best.copies = run.copies
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


class _NoSlots:
    """Stands in for Vulcain's forward slots: every pass runs at once, on the threads
    OpenCV has been set to."""

    @contextlib.contextmanager
    def forward(self) -> Iterator[None]:
        yield


@contextlib.contextmanager
def _opencv_threads_each(threads: int) -> Iterator[None]:
    """``cv2.setNumThreads(threads)`` for every Caffe forward pass in the block: Vulcain's
    forward slots, which would pick the thread count themselves, are bypassed."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    try:
        with mock.patch.object(vulcain.runtimes.caffe, "FORWARD_SLOTS", _NoSlots()):
            yield
    finally:
        cv2.setNumThreads(previous)


def _time_copies(
    runtimes: Sequence[Runtime], feeds: dict[str, np.ndarray], outputs: list[str], seconds: float
) -> tuple[float, float]:
    """Forward passes per second of all ``runtimes`` together, each driven by its own
    thread, and CPU seconds per pass. Each thread counts its own passes from the common
    start to the end of its last one; their rates add up."""
    start = threading.Barrier(len(runtimes) + 1)
    passes = [0] * len(runtimes)
    rates = [0.0] * len(runtimes)
    failures: list[Exception] = []

    def drive(index: int) -> None:
        runtime = runtimes[index]
        try:
            runtime.forward(feeds, outputs)
            start.wait()
            began = time.perf_counter()
            while True:
                runtime.forward(feeds, outputs)
                passes[index] += 1
                elapsed = time.perf_counter() - began
                if passes[index] >= 2 and elapsed >= seconds:
                    rates[index] = passes[index] / elapsed
                    return
        except threading.BrokenBarrierError:
            return
        except Exception as error:
            failures.append(error)
            start.abort()

    threads = [threading.Thread(target=drive, args=(index,)) for index in range(len(runtimes))]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait()
    cpu = _cpu_seconds()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return sum(rates), (_cpu_seconds() - cpu) / sum(passes)


def measure_copies(
    result: RawResult,
    runtimes: Sequence[Runtime],
    input_name: str,
    tensors: Sequence[np.ndarray],
    outputs: list[str],
    *,
    batch_sizes: Sequence[int],
    min_seconds: float,
) -> None:
    """Into ``result``: the images/s of ``runtimes`` (copies of one Caffe network) run side
    by side, each by its own thread with OpenCV on one thread, per batch size; each copy's
    answer is first checked against the references."""
    with _opencv_threads_each(1):
        for runtime in runtimes:
            for tensor, reference in zip(tensors, result.references, strict=True):
                got = runtime.forward({input_name: tensor[np.newaxis]}, outputs)
                for name in outputs:
                    if not np.allclose(got[name], reference[name], rtol=1e-3, atol=1e-4):
                        raise RuntimeError(f"a copy of the network answers another {name}")
        for size in batch_sizes:
            batch = np.stack([tensors[index % len(tensors)] for index in range(size)])
            passes_per_s, cpu_per_pass = _time_copies(
                runtimes, {input_name: batch}, outputs, min_seconds
            )
            result.copies_images_per_s[size] = passes_per_s * size
            result.copies_cpu_ms_per_image[size] = cpu_per_pass / size * 1000
    result.copies = len(runtimes)

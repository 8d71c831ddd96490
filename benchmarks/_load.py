"""Closed-loop load through the Python client: N threads, each with its own ``Client``,
each sending its next inference as soon as the previous one returned (long-poll)."""

from __future__ import annotations

import base64
import itertools
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from _server import ServerProcess, process_cpu_seconds

from vulcain.client import Client, ImageInput

REQUEST_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class LoadResult:
    concurrency: int
    requests: int
    seconds: float
    latencies_s: list[float]
    server_cpu_s: float
    client_cpu_s: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies_s)
        index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
        return ordered[index] * 1000

    def to_json(self) -> dict[str, float]:
        return {
            "images_per_s": round(self.per_second, 2),
            "p50_ms": round(statistics.median(self.latencies_s) * 1000, 1),
            "p99_ms": round(self.percentile_ms(0.99), 1),
            "requests": self.requests,
            "concurrency": self.concurrency,
            "server_cpu_ms_per_request": round(self.server_cpu_s / self.requests * 1000, 2),
            "client_cpu_ms_per_request": round(self.client_cpu_s / self.requests * 1000, 2),
        }


def image_inputs(jpegs: Sequence[bytes], encoding: str) -> list[Callable[[], ImageInput]]:
    """Factories of the client's input for each JPEG: ``json`` sends a base64 data URI in a
    JSON body, ``multipart`` uploads the file's bytes."""
    if encoding == "json":
        texts = [base64.b64encode(jpeg).decode("ascii") for jpeg in jpegs]
        return [lambda t=text: ImageInput(t, encoding="base64") for text in texts]
    if encoding == "multipart":
        return [lambda j=jpeg: ImageInput(j, encoding="binary") for jpeg in jpegs]
    raise ValueError(f"unknown encoding {encoding!r}")


def run_load(
    server: ServerProcess,
    network_id: int,
    inputs: Sequence[Callable[[], ImageInput]],
    outputs: Sequence[str],
    *,
    concurrency: int,
    requests: int,
    check: Callable[[int, dict[str, np.ndarray]], None] | None = None,
) -> LoadResult:
    """Send ``requests`` inferences from ``concurrency`` threads; image ``i % len(inputs)``
    for request ``i``. ``check(image_index, tensors)`` validates each answer."""
    clients = [
        Client(api_key=server.api_key, host=server.url, timeout=REQUEST_TIMEOUT_S)
        for _ in range(concurrency)
    ]
    networks = [client.Network.retrieve(network_id) for client in clients]
    counter = itertools.count()
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)

    def worker(slot: int) -> None:
        start.wait()
        while not errors:
            index = next(counter)
            if index >= requests:
                return
            image = index % len(inputs)
            began = time.perf_counter()
            try:
                tensors = networks[slot].inference(
                    [inputs[image]()], list(outputs), timeout=REQUEST_TIMEOUT_S
                )
                elapsed = time.perf_counter() - began
                if check is not None:
                    check(image, tensors)
            except BaseException as error:
                errors.append(error)
                return
            with lock:
                latencies.append(elapsed)

    threads = [
        threading.Thread(target=worker, args=(slot,), daemon=True) for slot in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    server_cpu, client_cpu = server.cpu_seconds(), process_cpu_seconds()
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    server_cpu = server.cpu_seconds() - server_cpu
    client_cpu = process_cpu_seconds() - client_cpu
    for client in clients:
        client.close()
    if errors:
        raise RuntimeError(f"an inference failed at concurrency {concurrency}") from errors[0]
    return LoadResult(concurrency, len(latencies), seconds, latencies, server_cpu, client_cpu)

"""Prometheus metrics of one Vulcain process, through ``prometheus-client``.

Each process keeps its own registry and serves it itself: ``GET /metrics`` on the API (or
a port of its own, ``VULCAIN_METRICS_PORT``), and a port of its own for each ``vulcain
worker``. Prometheus scrapes every process and sums them; no shared multiprocess files.

The children of labelled metrics are looked up once and kept (a network's six stage
histograms live on its :class:`NetworkMetrics`), so recording costs an ``observe`` each,
under a microsecond, on the inference path. A network's series go when it is deleted or
evicted, so the label set stays bounded by the networks loaded.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)

STAGES = ("read", "decode", "preprocess", "queue", "forward", "encode")
"""The stages of an inference: read (or fetch) the image, decode it, preprocess it, wait
in the batch queue, run forward, encode the result."""

# No ``*_created`` series: a timestamp per series that no Vulcain query reads, and half
# again the text of every scrape.
disable_created_metrics()

_STAGE_BUCKETS = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
_BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)
_REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_DEPLOY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


@dataclass(frozen=True)
class NetworkMetrics:
    """The series of one network, ready to record into."""

    stages: dict[str, Histogram]
    batch_size: Histogram
    queued: Gauge


class Metrics:
    """Every metric of a process, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self._stage = Histogram(
            "vulcain_inference_stage_seconds",
            "Time an inference spent in each stage, per network.",
            ["network", "stage"],
            buckets=_STAGE_BUCKETS,
            registry=registry,
        )
        self._batch_size = Histogram(
            "vulcain_batch_size",
            "Requests run together in one forward pass, per network.",
            ["network"],
            buckets=_BATCH_BUCKETS,
            registry=registry,
        )
        self._queued = Gauge(
            "vulcain_queued_requests",
            "Requests prepared and waiting for a forward pass, per network.",
            ["network"],
            registry=registry,
        )
        self.tasks = Counter(
            "vulcain_tasks",
            "Tasks ended, by kind (deploy, inference) and outcome (success, error).",
            ["kind", "outcome"],
            registry=registry,
        )
        self.http_requests = Counter(
            "vulcain_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.http_seconds = Histogram(
            "vulcain_http_request_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=_REQUEST_BUCKETS,
            registry=registry,
        )
        self.models_loaded = Gauge(
            "vulcain_models_loaded", "Networks loaded in memory.", registry=registry
        )
        self.model_memory = Gauge(
            "vulcain_model_memory_bytes",
            "Resident memory a loaded network took to load and warm up, per network.",
            ["network"],
            registry=registry,
        )
        self.evictions = Counter(
            "vulcain_model_evictions",
            "Loaded networks evicted to stay within VULCAIN_MAX_MODELS or the memory budget.",
            registry=registry,
        )
        self.deploy_seconds = Histogram(
            "vulcain_deployment_seconds",
            "Time a deployment took: load, checks and warm-up.",
            buckets=_DEPLOY_BUCKETS,
            registry=registry,
        )
        self._lock = threading.Lock()
        self._networks: dict[str, NetworkMetrics] = {}

    def network(self, network: str) -> NetworkMetrics:
        """The series of ``network`` (its id), created at the first call."""
        found = self._networks.get(network)
        if found is not None:
            return found
        with self._lock:
            found = self._networks.get(network)
            if found is None:
                found = NetworkMetrics(
                    stages={stage: self._stage.labels(network, stage) for stage in STAGES},
                    batch_size=self._batch_size.labels(network),
                    queued=self._queued.labels(network),
                )
                self._networks[network] = found
        return found

    def forget_network(self, network: str) -> None:
        """Drop the series of a network deleted or evicted."""
        with self._lock:
            if self._networks.pop(network, None) is None:
                return
            for stage in STAGES:
                self._stage.remove(network, stage)
            self._batch_size.remove(network)
            self._queued.remove(network)
        with contextlib.suppress(KeyError):  # set once the network has loaded
            self.model_memory.remove(network)


def serve_metrics(metrics: Metrics, host: str, port: int) -> Callable[[], None]:
    """Serve ``metrics`` on ``host:port`` from a thread of its own (``VULCAIN_METRICS_PORT``);
    return what stops it."""
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop

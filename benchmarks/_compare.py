"""One server at a time, fed the same workload by the same load generator (peers.py).

Every server gets the near-free network at c16 and the ResNet at c1 and c16, with the same
JPEGs and the same reference outputs to verify against. The near-free load (and the
ceiling) runs for a fixed time, so a fast server is measured as long as a slow one; the
ResNet loads run a fixed count of requests. Vulcain also gets the load
generator's ceiling (``GET /health``), both of its request modes, and optionally the c1
latency of the official ``deepomatic-api`` client next to its own long-poll client. Each
server is stopped (its whole process group) in a ``finally``.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from _aioload import run_load
from _client_latency import measure_client
from _networks import BenchNetwork
from _peers.servers import PeerServer
from _proctree import tree_rss_mb
from _server import ServerProcess
from _vulcain import MODES, V2, deploy, health_scenario, scenario, v2_scenario

from vulcain.client import Client

Log = Callable[[str], None]
TIMED_REQUESTS = 10**9
"""The count of a timed load: never reached, its time ends it."""


@dataclass
class Workload:
    concurrency: int
    near_free: BenchNetwork | None
    resnet: BenchNetwork | None
    jpegs: dict[str, list[bytes]]
    """``near_free`` and ``resnet``: the JPEGs each network is fed."""
    references: dict[str, list[np.ndarray]]
    """Per network, each JPEG's output tensor at batch size 1 in the raw runtime."""
    requests: dict[str, int]
    """Counted loads: ``resnet_c1``, ``resnet_c16``, ``client_c1``."""
    seconds: dict[str, float]
    """Timed loads, as many requests as fit: ``near_free``, ``health``."""
    max_seconds: float
    """No counted load runs longer than this."""
    max_batch_size: int
    image_files: list[Path] = field(default_factory=list)
    """The ResNet JPEGs on disk, for the client scripts."""
    official_python: Path | None = None
    """The python of ``.venv/compat/1.0.0``; ``None`` skips the official client row."""

    def length(self, key: str) -> dict[str, Any]:
        """``run_load``'s ``requests`` and ``max_seconds`` for the load ``key``."""
        if key in self.seconds:
            return {"requests": TIMED_REQUESTS, "max_seconds": self.seconds[key]}
        return {"requests": self.requests[key], "max_seconds": self.max_seconds}

    def networks(self) -> dict[str, BenchNetwork]:
        found = {"near_free": self.near_free, "resnet": self.resnet}
        return {key: network for key, network in found.items() if network is not None}


def _loads(
    workload: Workload, key: str, scenario_config: dict, pids: list[int], log: Log, tag: str
) -> dict[str, Any]:
    """The runs of one network through one scenario: c16 for the near-free network, c1
    and c16 for the ResNet."""
    levels = [workload.concurrency] if key == "near_free" else [1, workload.concurrency]
    results = {}
    for level in levels:
        count_key = key if key == "near_free" else f"resnet_c{1 if level == 1 else 16}"
        log(f"      {tag} {key} c{level}")
        result = run_load(
            scenario_config,
            workload.jpegs[key],
            workload.references[key],
            concurrency=level,
            server_pids=pids,
            label=f"{tag} {key} c{level}",
            **workload.length(count_key),
        )
        if result.unsupported:
            return {f"{key}_c{other}": result.to_json() for other in levels}
        results[f"{key}_c{level}"] = result.to_json()
    return results


def measure_vulcain(workload: Workload, env: dict[str, str], log: Log) -> dict[str, Any]:
    server = ServerProcess(env)
    try:
        server.wait_ready()
        pids = [server.process.pid]
        client = Client(api_key=server.api_key, host=server.url)
        log("      ceiling: GET /health")
        results: dict[str, Any] = {
            "generator_ceiling": run_load(
                health_scenario(server),
                [b""],
                concurrency=workload.concurrency,
                server_pids=pids,
                label="GET /health",
                **workload.length("health"),
            ).to_json()
        }
        for key, network in workload.networks().items():
            network_id = deploy(client, network, f"benchmark-{key}")
            deployment = client.Network.retrieve(network_id).deployment().data or {}
            results[f"runtime_{key}"] = deployment.get("runtime")
            for mode in MODES:
                config = scenario(server, network_id, network.output, mode)
                found = _loads(workload, key, config, pids, log, f"vulcain {mode}")
                results.update({f"{mode}_{name}": row for name, row in found.items()})
            found = _loads(
                workload, key, v2_scenario(server, network_id, network), pids, log, "vulcain /v2"
            )
            results.update({f"{V2}_{name}": row for name, row in found.items()})
            if key == "resnet" and workload.official_python is not None:
                results.update(_client_rows(workload, server, network_id, log))
        results["rss_mb"] = round(tree_rss_mb(pids), 1)
        return results
    except Exception:
        log(f"vulcain log (last lines):\n{server.log()}")
        raise
    finally:
        server.stop()


def _client_rows(
    workload: Workload, server: ServerProcess, network_id: int, log: Log
) -> dict[str, Any]:
    """c1 p50 of the official client (polling) and of Vulcain's (long-poll)."""
    rows = {}
    for name, python in (
        ("official_client_c1", workload.official_python),
        ("longpoll_client_c1", Path(sys.executable)),
    ):
        log(f"      {name}")
        answer = measure_client(
            python,
            {
                "client": "official" if name.startswith("official") else "vulcain",
                "url": server.url,
                "api_key": server.api_key,
                "network_id": network_id,
                "output": workload.resnet.output,
                "images": [str(path) for path in workload.image_files],
                "requests": workload.requests["client_c1"],
                "warmup": 2,
            },
        )
        reference = workload.references["resnet"][0]
        first = np.asarray(answer["first_output"], dtype=np.float32)
        latencies = answer["latencies_s"]
        rows[name] = {
            "requests": len(latencies),
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "max_ms": round(max(latencies) * 1000, 2),
            "verified": bool(np.allclose(first, reference.ravel(), rtol=1e-3, atol=1e-4)),
        }
    return rows


def measure_peer(peer: str, workload: Workload, log: Log) -> dict[str, Any]:
    """Each network on its own ``peer`` process, one after the other."""
    results: dict[str, Any] = {}
    for key, network in workload.networks().items():
        server = PeerServer(
            peer, key.replace("_", "-"), network.peer_config(), workload.max_batch_size, log=log
        )
        try:
            server.wait_ready()
            results.update(_loads(workload, key, server.scenario(), [server.pid], log, peer))
            results[f"rss_mb_{key}"] = round(tree_rss_mb([server.pid]), 1)
        except Exception:
            log(f"{peer} log (last lines):\n{server.log()}")
            raise
        finally:
            server.stop()
    return results

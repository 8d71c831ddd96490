"""What recording the Prometheus metrics costs: the near-free network on a server with
metrics on against a second one started with ``VULCAIN_METRICS=false`` (which records
nothing), in the same run.

The two servers are measured in alternating rounds (off then on, then on then off, ...),
so a noisy neighbour or a drift slows both alike, and each side's figure is the median of
its rounds. The ratio of requests/s (on / off) is the target, at least 0.97; the server
CPU per request is reported next to it, as it is the steadier of the two figures on a
shared machine.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence
from typing import Any

from _aioload import run_load
from _networks import BenchNetwork
from _server import ServerProcess
from _targets import METRICS_ON_VS_OFF, target
from _vulcain import deploy, scenario

from vulcain.client import Client

MODE = "one_request"


def measure_metrics_cost(
    on: ServerProcess,
    on_network_id: int,
    network: BenchNetwork,
    images: Sequence[bytes],
    *,
    extra_env: dict[str, str],
    concurrency: int,
    requests: int,
    rounds: int,
    max_seconds: float,
) -> dict[str, Any]:
    """Rounds of ``requests`` near-free inferences on ``on`` (metrics recorded) and on a
    server of its own with metrics off; the medians, their ratios and the target."""
    off = ServerProcess({**extra_env, "VULCAIN_METRICS": "false"})
    try:
        off.wait_ready()
        off_network_id = deploy(Client(api_key=off.api_key, host=off.url), network, "identity")
        sides = {
            "off": (off, off_network_id),
            "on": (on, on_network_id),
        }
        runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
        for index in range(rounds):
            order = ("off", "on") if index % 2 == 0 else ("on", "off")
            for side in order:
                server, network_id = sides[side]
                print(f"      metrics {side}, round {index + 1}/{rounds}", file=sys.stderr)
                runs[side].append(
                    run_load(
                        scenario(server, network_id, network.output, MODE),
                        images,
                        concurrency=concurrency,
                        requests=requests,
                        server_pids=[server.process.pid],
                        max_seconds=max_seconds,
                    ).to_json()
                )
    except Exception:
        print(f"metrics-off server log (last lines):\n{off.log()}", file=sys.stderr)
        raise
    finally:
        off.stop()
    medians = {side: _medians(rows) for side, rows in runs.items()}
    per_second = medians["on"]["per_second"] / medians["off"]["per_second"]
    cpu = medians["on"]["server_cpu_ms_per_request"] / medians["off"]["server_cpu_ms_per_request"]
    return {
        "mode": MODE,
        "concurrency": concurrency,
        "medians": medians,
        "rounds": runs,
        "cpu_per_request_on_vs_off": round(cpu, 3),
        "target": target(per_second, METRICS_ON_VS_OFF, ">="),
    }


def _medians(rows: list[dict[str, Any]]) -> dict[str, float]:
    return {
        key: round(statistics.median(row[key] for row in rows), 3)
        for key in ("per_second", "p50_ms", "server_cpu_ms_per_request")
    }

"""Closed-loop HTTP load from its own process: asyncio + aiohttp (+ uvloop when importable).

A thread per request in Python tops out near 1.1k requests/s on a 2-core machine, below
what the servers under test can answer; one event loop with keep-alive connections goes
further for less CPU. ``concurrency`` coroutines share one ``ClientSession`` whose connector
holds at least that many connections; each sends its next inference as soon as the previous
one finished. The generator runs in a child process (``run_load`` starts it), so its CPU is
measured apart from the server's and from the benchmark's own, and it reports both: the
server's whole process tree from /proc, and its own.

Every image is verified once before timing starts (which also tells a mode the server does
not offer, reported as ``unsupported``), then one answer in ``check_every`` while timed.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import orjson
from _proctree import tree_cpu_seconds
from _scenarios import Unsupported, WrongAnswer, build_scenario

REQUEST_TIMEOUT_S = 60.0
MAX_SECONDS = 300.0
"""No timed phase runs longer than this, whatever ``requests`` asks."""
KEPT_ERRORS = 3


@dataclass(frozen=True)
class LoadResult:
    label: str
    concurrency: int
    requests: int
    """Successful inferences in the timed phase."""
    errors: int
    wrong_answers: int
    verified: int
    seconds: float
    per_second: float
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    server_cpu_ms_per_request: float | None
    generator_cpu_ms_per_request: float | None
    first_errors: list[str]
    unsupported: str | None = None
    """Why the server does not offer this mode, when it does not (then nothing was timed)."""

    def to_json(self) -> dict[str, Any]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


def run_load(
    scenario: dict[str, Any],
    images: Sequence[bytes],
    references: Sequence[np.ndarray | None] | None = None,
    *,
    concurrency: int,
    requests: int,
    server_pids: Sequence[int],
    label: str = "",
    warmup: int | None = None,
    check_every: int = 8,
    max_seconds: float = MAX_SECONDS,
) -> LoadResult:
    """Run the scenario's inferences (image ``i % len(images)`` for the i-th) from a child
    process; ``server_pids`` are the roots of the server's process tree. The timed phase
    ends after ``requests`` inferences or ``max_seconds``, whichever comes first."""
    spec = {
        "scenario": scenario,
        "images": [base64.b64encode(image).decode("ascii") for image in images],
        "references": [
            None if ref is None else np.asarray(ref, np.float32).ravel().tolist()
            for ref in (references or [None] * len(images))
        ],
        "concurrency": concurrency,
        "requests": requests,
        "warmup": max(2 * concurrency, len(images)) if warmup is None else warmup,
        "check_every": check_every,
        "server_pids": list(server_pids),
        "label": label,
        "max_seconds": min(max_seconds, MAX_SECONDS),
    }
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve())],
        input=orjson.dumps(spec),
        capture_output=True,
        timeout=MAX_SECONDS + 2 * REQUEST_TIMEOUT_S + 60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr.decode(errors='replace')}")
    return LoadResult(**orjson.loads(done.stdout))


class _Loop:
    """One closed loop of ``requests`` inferences from ``concurrency`` coroutines."""

    def __init__(self, scenario: Any, images: int, requests: int, check_every: int) -> None:
        self.scenario, self.images, self.requests = scenario, images, requests
        self.check_every = check_every
        self.next_index = 0
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.wrong = 0
        self.verified = 0

    async def run(self, session: aiohttp.ClientSession, concurrency: int, deadline: float) -> None:
        await asyncio.gather(*(self._worker(session, deadline) for _ in range(concurrency)))

    async def _worker(self, session: aiohttp.ClientSession, deadline: float) -> None:
        while self.next_index < self.requests and time.perf_counter() < deadline:
            index = self.next_index
            self.next_index += 1
            verify = index % self.check_every == 0
            began = time.perf_counter()
            try:
                await self.scenario.infer(session, index % self.images, verify)
            except WrongAnswer as error:
                self.wrong += 1
                self.errors.append(f"wrong answer: {error}")
                continue
            except Exception as error:  # any failure is counted, the loop goes on
                self.errors.append(f"{type(error).__name__}: {error}"[:300])
                continue
            self.latencies.append(time.perf_counter() - began)
            self.verified += verify


def _percentile_ms(ordered: list[float], fraction: float) -> float | None:
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return round(ordered[index] * 1000, 2)


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


async def _generate(spec: dict[str, Any]) -> dict[str, Any]:
    images = [base64.b64decode(text) for text in spec["images"]]
    references = [
        None if ref is None else np.asarray(ref, np.float32) for ref in spec["references"]
    ]
    scenario = build_scenario(spec["scenario"], images, references)
    concurrency, pids = spec["concurrency"], spec["server_pids"]
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=0, ttl_dns_cache=None)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    base = {"label": spec["label"], "concurrency": concurrency}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        try:
            for image in range(len(images)):
                await scenario.infer(session, image, True)
        except Unsupported as error:
            return {**_empty(), **base, "unsupported": str(error)}
        except Exception as error:  # a server that fails or answers wrong is a result too
            failure = f"before timing: {type(error).__name__}: {error}"[:300]
            failed = {"errors": 1, "wrong_answers": int(isinstance(error, WrongAnswer))}
            return {**_empty(), **base, **failed, "first_errors": [failure]}
        warmup = _Loop(scenario, len(images), spec["warmup"], spec["check_every"])
        await warmup.run(session, concurrency, time.perf_counter() + MAX_SECONDS)
        loop = _Loop(scenario, len(images), spec["requests"], spec["check_every"])
        server_cpu, own_cpu = tree_cpu_seconds(pids), _own_cpu_seconds()
        began = time.perf_counter()
        await loop.run(session, concurrency, began + spec["max_seconds"])
        seconds = time.perf_counter() - began
        server_cpu = tree_cpu_seconds(pids) - server_cpu
        own_cpu = _own_cpu_seconds() - own_cpu
    done = max(1, len(loop.latencies))
    ordered = sorted(loop.latencies)
    return {
        **base,
        "requests": len(loop.latencies),
        "errors": len(loop.errors),
        "wrong_answers": loop.wrong,
        "verified": loop.verified,
        "seconds": round(seconds, 3),
        "per_second": round(len(loop.latencies) / seconds, 2),
        "p50_ms": _percentile_ms(ordered, 0.50),
        "p90_ms": _percentile_ms(ordered, 0.90),
        "p99_ms": _percentile_ms(ordered, 0.99),
        "server_cpu_ms_per_request": round(server_cpu / done * 1000, 3),
        "generator_cpu_ms_per_request": round(own_cpu / done * 1000, 3),
        "first_errors": loop.errors[:KEPT_ERRORS],
    }


def _empty() -> dict[str, Any]:
    return {
        "requests": 0,
        "errors": 0,
        "wrong_answers": 0,
        "verified": 0,
        "seconds": 0.0,
        "per_second": 0.0,
        "p50_ms": None,
        "p90_ms": None,
        "p99_ms": None,
        "server_cpu_ms_per_request": None,
        "generator_cpu_ms_per_request": None,
        "first_errors": [],
    }


def _main() -> None:
    spec = orjson.loads(sys.stdin.buffer.read())
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(_generate(spec))
    else:
        result = uvloop.run(_generate(spec))
    sys.stdout.buffer.write(orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY))


if __name__ == "__main__":
    _main()

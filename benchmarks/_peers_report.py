"""peers.py's table: every server's runs side by side, the raw runtime, the load
generator's ceiling, and the targets."""

from __future__ import annotations

from typing import Any

from _targets import fastest, print_busy_warning, print_errors, print_targets
from rich.console import Console
from rich.table import Table

ROWS = (
    ("near_free_c16", "near-free c16", "req/s"),
    ("resnet_c1", "ResNet c1", "img/s"),
    ("resnet_c16", "ResNet c16", "img/s"),
)
VULCAIN_MODES = (
    ("two_request", "2-req"),
    ("one_request", "1-req"),
    ("v2", "/v2"),
)
VULCAINS = (("vulcain", "Vulcain"), ("vulcain-opencv", "Vulcain on OpenCV"))
PEERS = (
    ("mlserver", "MLServer 1 worker"),
    ("mlserver-inline", "MLServer inline"),
    ("mosec", "Mosec"),
)
MLSERVERS = dict(PEERS[:2])


def _number(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _add(table: Table, server: str, workload: str, row: dict[str, Any] | None) -> None:
    if row is None:
        return
    if row.get("unsupported"):
        table.add_row(server, workload, "unsupported", *[""] * 6)
        return
    table.add_row(
        server,
        workload,
        _number(row["per_second"]),
        _number(row["p50_ms"]),
        _number(row["p90_ms"]),
        _number(row["p99_ms"]),
        _number(row["server_cpu_ms_per_request"], 2),
        _number(row["generator_cpu_ms_per_request"], 2),
        f"{row['errors']}/{row['wrong_answers']}/{row['verified']}",
    )


def print_peers_report(results: dict[str, Any]) -> None:
    console = Console(width=max(Console().width, 130))
    machine = results["machine"]
    console.print(
        f"{machine['cores']} cores, {machine['cpu']}; load average "
        f"{machine['load_average_at_start'][0]} at start, {machine['load_average_at_end'][0]} "
        f"at end; batching {results['settings']['max_batch_size']} / 5 ms on every server"
    )
    print_busy_warning(console, machine)
    for key, label in results["networks"].items():
        console.print(f"{key}: {label}")
    raw = results.get("raw")
    if raw:
        _print_raw(console, {**raw, "serving": results.get("raw_serving")})
    ceiling = results.get("servers", {}).get("vulcain", {}).get("generator_ceiling")
    if ceiling and ceiling["requests"]:
        cpu_ms = ceiling["generator_cpu_ms_per_request"]
        console.print(
            f"load generator ceiling: {ceiling['per_second']:.0f} req/s on Vulcain's GET "
            f"/health at c{ceiling['concurrency']} ({cpu_ms:.3f} ms generator CPU per "
            f"request: about {1000 / cpu_ms:.0f} req/s per core)"
        )
    table = Table(title="One load generator (asyncio + aiohttp, own process), one server at a time")
    table.caption = (
        "Vulcain 2-req: POST, then GET the task with ?wait (latency from POST start to GET "
        "end); 1-req: POST ?wait answers the task; /v2: the Open Inference Protocol, sent what "
        "MLServer is sent. MLServer 1 worker: its default "
        "parallel_workers 1 (inference in one worker process); inline: parallel_workers 0 "
        "(inference in the API process). err/wrong/chk: failed requests, wrong "
        "tensors, answers checked against the reference."
    )
    columns = ("server", "workload", "rate", "p50 ms", "p90 ms", "p99 ms")
    for column in (*columns, "server CPU ms/req", "gen. CPU ms/req", "err/wrong/chk"):
        left = column in columns[:2]
        table.add_column(column, justify="left" if left else "right", no_wrap=left)
    servers = results.get("servers", {})
    vulcain = servers.get("vulcain", {})
    for key, workload, unit in ROWS:
        for server, name in VULCAINS:
            rows = servers.get(server, {})
            served_by = rows.get(f"runtime_{key.split('_c')[0]}")
            for mode, label in VULCAIN_MODES:
                label = f"{name} {label}" + (f" ({served_by})" if served_by else "")
                _add(table, label, f"{workload} {unit}", rows.get(f"{mode}_{key}"))
        for peer, label in PEERS:
            _add(table, label, f"{workload} {unit}", servers.get(peer, {}).get(key))
    console.print(table)
    _print_faster_mlserver(console, servers)
    print_errors(
        console,
        {
            f"{server} {key}": row
            for server, rows in servers.items()
            for key, row in rows.items()
            if isinstance(row, dict) and "errors" in row
        },
    )
    for name in ("official_client_c1", "longpoll_client_c1"):
        row = vulcain.get(name)
        if row:
            console.print(
                f"{name}: p50 {row['p50_ms']:.1f} ms, max {row['max_ms']:.1f} ms over "
                f"{row['requests']} sequential inferences (answer verified: {row['verified']})"
            )
    memory = [f"{name} {value:.0f} MiB" for name, value in _memory(servers).items()]
    if memory:
        console.print("resident memory after the loads: " + ", ".join(memory))
    print_targets(console, results["targets"])


def _print_raw(console: Console, raw: dict[str, Any]) -> None:
    """Both raw figures, one network on OpenCV's threads and one copy per core."""

    def by_batch(rates: dict[str, float]) -> str:
        return ", ".join(f"b{size}: {rate:.4g}" for size, rate in rates.items())

    console.print(
        f"raw, one network, OpenCV's threads (OpenCV DNN, this process): best "
        f"{raw['best_images_per_s']:.4g} images/s at batch {raw['best_batch_size']} "
        f"({by_batch(raw['images_per_s_by_batch_size'])}); single forward "
        f"{raw['single_latency_ms']:.3g} ms; decode + preprocess of one JPEG "
        f"{raw['decode_preprocess_ms']:.3g} ms"
    )
    serving = raw.get("serving")
    if serving:
        console.print(
            f"raw serving runtime (the network converted to ONNX, {serving['engine']}, this "
            f"process): best {serving['best_images_per_s']:.4g} images/s at batch "
            f"{serving['best_batch_size']} ({by_batch(serving['images_per_s_by_batch_size'])});"
            f" single forward {serving['single_latency_ms']:.3g} ms; "
            f"{serving['best_images_per_s'] / raw['best_images_per_s']:.2f}x OpenCV's best"
        )
    copies = raw.get("one_copy_per_core")
    if copies:
        console.print(
            f"raw, one copy per core, one thread each ({copies['copies']} copies side by "
            f"side, one Python thread and one OpenCV thread each): best "
            f"{copies['best_images_per_s']:.4g} images/s at batch {copies['best_batch_size']} "
            f"({by_batch(copies['images_per_s_by_batch_size'])}); "
            f"{copies['best_images_per_s'] / raw['best_images_per_s']:.2f}x the one network"
        )


def _print_faster_mlserver(console: Console, servers: dict[str, Any]) -> None:
    """Which MLServer configuration the targets compare with, per workload."""
    configurations = {name: servers[name] for name in MLSERVERS if name in servers}
    if not configurations:
        return
    parts = []
    for key, workload, unit in ROWS:
        best = fastest(configurations, key)
        if best is None:
            continue
        rates = ", ".join(
            f"{MLSERVERS[name]} {rows[key]['per_second']:.1f}"
            for name, rows in configurations.items()
            if rows.get(key) and rows[key].get("requests")
        )
        parts.append(f"{workload}: {MLSERVERS[best[0]]} ({rates} {unit})")
    if parts:
        console.print("faster MLServer configuration, compared with: " + "; ".join(parts))


def _memory(servers: dict[str, Any]) -> dict[str, float]:
    found = {}
    for server, rows in servers.items():
        for key, value in rows.items():
            if key.startswith("rss_mb"):
                suffix = key.removeprefix("rss_mb").strip("_")
                found[f"{server} {suffix}".strip()] = value
    return found

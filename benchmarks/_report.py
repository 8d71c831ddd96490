"""The serving benchmark's targets and its table."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any

from _raw import RawResult
from rich.console import Console
from rich.table import Table

RATIO_TARGET = 0.9
LATENCY_MARGIN_MS = 15.0
TRIVIAL_TARGET = 500.0
RSS_FACTOR = 1.3
ENCODINGS = ("api", "api_multipart")


def targets(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target of issue 5 with its measured value, its limit and whether it is met."""
    raw = results["raw"]
    found: dict[str, dict[str, Any]] = {}
    if "ratio_c16" in results:
        found["c16_throughput_ratio"] = _target(results["ratio_c16"], RATIO_TARGET, ">=")
    if "c1" in results.get("api", {}):
        limit = raw["single_latency_ms"] + LATENCY_MARGIN_MS
        found["c1_p50_ms"] = _target(results["api"]["c1"]["p50_ms"], round(limit, 1), "<=")
    found["trivial_requests_per_s"] = _target(
        results["trivial_requests_per_s"], TRIVIAL_TARGET, ">="
    )
    weight_mb = results["model"]["weight_file_mb"]
    found["rss_per_model_mb"] = _target(
        results["rss_per_model_mb"], float(f"{RSS_FACTOR * weight_mb:.3g}"), "<="
    )
    return found


def _target(value: float, limit: float, sense: str) -> dict[str, Any]:
    met = value >= limit if sense == ">=" else value <= limit
    return {"value": value, "limit": limit, "sense": sense, "met": met}


def print_report(results: dict[str, Any]) -> None:
    console = Console(width=max(Console().width, 110))
    raw = results["raw"]
    model = results["model"]
    machine = results["machine"]
    console.print(
        f"[bold]{model['label']}[/], input {model['target_size']}, "
        f"JPEGs {model['image_size']}; {machine['cores']} cores, {machine['cpu']}; "
        f"load average {machine['load_average_at_start'][0]} at start, "
        f"{machine['load_average_at_end'][0]} at end"
    )
    by_batch = ", ".join(
        f"b{size}: {rate:.4g}" for size, rate in raw["images_per_s_by_batch_size"].items()
    )
    console.print(
        f"raw runtime: best {raw['best_images_per_s']:.4g} images/s at batch "
        f"{raw['best_batch_size']} ({by_batch}); single image {raw['single_latency_ms']:.3g} ms; "
        f"{raw['best_batch_cpu_ms_per_image']:.3g} ms CPU per image at the best batch"
    )
    if "cpu_ratio_c16" in results:
        console.print(
            f"CPU efficiency at c16 (raw CPU per image / server CPU per request): "
            f"JSON {results['cpu_ratio_c16']:.2f}, "
            f"multipart {results.get('cpu_ratio_c16_multipart', float('nan')):.2f} "
            "(less sensitive than images/s to other load on the machine)"
        )
    table = Table(title="Through the API (client with long-poll, one thread per connection)")
    for column in ("body", "concurrency", "images/s", "p50 ms", "p99 ms", "x raw best"):
        table.add_column(column, justify="right")
    table.add_column("server CPU ms/req", justify="right")
    table.add_column("client CPU ms/req", justify="right")
    for key, label in (("api", "JSON base64"), ("api_multipart", "multipart")):
        for level, row in results.get(key, {}).items():
            table.add_row(
                label,
                level,
                f"{row['images_per_s']:.1f}",
                f"{row['p50_ms']:.0f}",
                f"{row['p99_ms']:.0f}",
                f"{row['images_per_s'] / raw['best_images_per_s']:.2f}",
                f"{row['server_cpu_ms_per_request']:.1f}",
                f"{row['client_cpu_ms_per_request']:.1f}",
            )
    trivial = results["trivial"]
    table.add_row(
        "near-free net",
        f"c{trivial['concurrency']}",
        f"{trivial['images_per_s']:.1f}",
        f"{trivial['p50_ms']:.1f}",
        f"{trivial['p99_ms']:.1f}",
        "",
        f"{trivial['server_cpu_ms_per_request']:.2f}",
        f"{trivial['client_cpu_ms_per_request']:.2f}",
    )
    console.print(table)
    rss = results["rss"]
    console.print(
        f"memory: server {rss['server_before_mb']:.0f} MiB before the model, "
        f"{rss['after_deploy_and_warmup_mb']:.0f} MiB after deploy and warm-up, "
        f"{rss['after_all_loads_mb']:.0f} MiB after every load; "
        f"weight file {model['weight_file_mb']:.3g} MiB"
    )
    checks = Table(title="Targets (reported, not asserted)")
    for column in ("target", "measured", "limit", "met"):
        checks.add_column(column)
    for name, target in results["targets"].items():
        checks.add_row(
            name,
            str(target["value"]),
            f"{target['sense']} {target['limit']}",
            "[green]yes[/]" if target["met"] else "[red]no[/]",
        )
    console.print(checks)


def ratios(results: dict[str, Any], raw: RawResult) -> dict[str, float]:
    """Images/s at c16 over the raw best, and raw CPU per image over server CPU per request."""
    ratios = {}
    best_cpu = raw.cpu_ms_per_image[raw.best_batch_size]
    for name in ENCODINGS:
        if "c16" in results[name]:
            suffix = name.removeprefix("api")
            c16 = results[name]["c16"]
            ratios[f"ratio_c16{suffix}"] = round(c16["images_per_s"] / raw.best_images_per_s, 3)
            ratios[f"cpu_ratio_c16{suffix}"] = round(best_cpu / c16["server_cpu_ms_per_request"], 3)
    return ratios


def machine_info() -> dict[str, object]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "load_average_at_end": [round(load, 2) for load in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }

"""serving.py's table and its ratios to the raw runtime."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any

from _accelerated import print_runtimes
from _raw import RawResult
from _targets import print_busy_warning, print_errors, print_targets, usable
from rich.console import Console
from rich.table import Table

BODY_LABELS = {"json": "JSON base64", "multipart": "multipart"}
MODE_LABELS = {"two_request": "POST+GET", "one_request": "POST ?wait"}


def ratios(results: dict[str, Any], raw: RawResult) -> dict[str, float]:
    """Per body and mode at c16: images/s over the raw best, and raw CPU per image over
    the server's CPU per request (less moved than images/s by other load on the machine)."""
    found = {}
    best_cpu = raw.cpu_ms_per_image[raw.best_batch_size]
    for body, modes in results["api"].items():
        for mode, rows in modes.items():
            row = rows.get("c16")
            if usable(row):
                found[f"ratio_c16_{body}_{mode}"] = round(
                    row["per_second"] / raw.best_images_per_s, 3
                )
                found[f"cpu_ratio_c16_{body}_{mode}"] = round(
                    best_cpu / row["server_cpu_ms_per_request"], 3
                )
    return found


def _cells(row: dict[str, Any], raw_best: float | None) -> list[str]:
    if row.get("unsupported") or not row["requests"]:
        failures = f"{row['errors']}/{row['wrong_answers']}/{row['verified']}"
        return ["unsupported" if row.get("unsupported") else "failed", *[""] * 5, failures]
    return [
        f"{row['per_second']:.1f}",
        f"{row['p50_ms']:.0f}" if row["p50_ms"] >= 100 else f"{row['p50_ms']:.1f}",
        f"{row['p99_ms']:.0f}" if row["p99_ms"] >= 100 else f"{row['p99_ms']:.1f}",
        f"{row['per_second'] / raw_best:.2f}" if raw_best else "",
        f"{row['server_cpu_ms_per_request']:.2f}",
        f"{row['generator_cpu_ms_per_request']:.2f}",
        f"{row['errors']}/{row['wrong_answers']}/{row['verified']}",
    ]


def print_report(results: dict[str, Any]) -> None:
    console = Console(width=max(Console().width, 130))
    raw, model, machine = results["raw"], results["model"], results["machine"]
    console.print(
        f"[bold]{model['label']}[/], input {model['target_size']}, "
        f"JPEGs {model['image_size']}; {machine['cores']} cores, {machine['cpu']}; "
        f"load average {machine['load_average_at_start'][0]} at start, "
        f"{machine['load_average_at_end'][0]} at end"
    )
    print_busy_warning(console, machine)
    by_batch = ", ".join(
        f"b{size}: {rate:.4g}" for size, rate in raw["images_per_s_by_batch_size"].items()
    )
    console.print(
        f"raw runtime: best {raw['best_images_per_s']:.4g} images/s at batch "
        f"{raw['best_batch_size']} ({by_batch}); single image {raw['single_latency_ms']:.3g} ms; "
        f"decode + preprocess of one JPEG {raw['decode_preprocess_ms']:.3g} ms; "
        f"{raw['best_batch_cpu_ms_per_image']:.3g} ms CPU per image at the best batch"
    )
    print_runtimes(console, results)
    ceiling = results["generator_ceiling"]
    if ceiling["requests"]:
        console.print(
            f"load generator ceiling: {ceiling['per_second']:.0f} req/s on GET /health at c16 "
            f"({ceiling['generator_cpu_ms_per_request']:.3f} ms generator CPU per request: about "
            f"{1000 / ceiling['generator_cpu_ms_per_request']:.0f} req/s per core)"
        )
    cpu = [f"{k.removeprefix('cpu_ratio_c16_')} {v:.2f}" for k, v in results.items()
           if k.startswith("cpu_ratio_c16_")]  # fmt: skip
    if cpu:
        console.print(
            "CPU efficiency at c16 (raw CPU per image / server CPU per request): " + ", ".join(cpu)
        )
    table = Table(title="Through the API (closed-loop asyncio load generator, own process)")
    for column in ("body", "mode", "conc.", "images/s", "p50 ms", "p99 ms", "x raw best"):
        table.add_column(column, justify="right")
    for column in ("server CPU ms/req", "gen. CPU ms/req", "err/wrong/chk"):
        table.add_column(column, justify="right")
    for body, modes in results["api"].items():
        for mode, rows in modes.items():
            for level, row in rows.items():
                labels = [BODY_LABELS[body], MODE_LABELS[mode], level]
                table.add_row(*labels, *_cells(row, raw["best_images_per_s"]))
                if row.get("unsupported"):
                    break
    for mode, row in results["near_free"].items():
        level = f"c{row['concurrency']}"
        table.add_row("near-free net", MODE_LABELS[mode], level, *_cells(row, None))
    console.print(table)
    rows = {
        f"{body} {mode} {level}": row
        for body, modes in results["api"].items()
        for mode, levels in modes.items()
        for level, row in levels.items()
    }
    rows.update({f"near-free {mode}": row for mode, row in results["near_free"].items()})
    print_errors(console, rows)
    cost = results["metrics_cost"]
    on, off = cost["medians"]["on"], cost["medians"]["off"]
    console.print(
        f"metrics: near-free {cost['mode']} c{cost['concurrency']}, median of the rounds: "
        f"{on['per_second']:.0f} req/s recorded vs {off['per_second']:.0f} off "
        f"({cost['target']['value']:.3f}x); server CPU {on['server_cpu_ms_per_request']:.3f} vs "
        f"{off['server_cpu_ms_per_request']:.3f} ms/req ({cost['cpu_per_request_on_vs_off']:.3f}x)"
    )
    rss = results["rss"]
    console.print(
        f"memory: server {rss['server_before_mb']:.0f} MiB before the model, "
        f"{rss['after_deploy_and_warmup_mb']:.0f} MiB after deploy and warm-up, "
        f"{rss['after_all_loads_mb']:.0f} MiB after every load; "
        f"weight file {model['weight_file_mb']:.3g} MiB"
    )
    print_targets(console, results["targets"])


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

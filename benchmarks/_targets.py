"""The performance targets the serving benchmarks report (never assert), in one place.

Vulcain alone (serving.py and peers.py): ResNet images/s at c16 at least 0.95x the raw
runtime's best batch; ResNet p50 at c1 at most a single forward plus the decode and
preprocessing of one image plus 3 ms; p99 at most 3x p50 at c16 (near-free and ResNet);
near-free requests/s with metrics recorded at least 0.97x without (serving.py only). The
raw runtime is the one that serves: a Caffe network converted to ONNX is compared with the
converted network on onnxruntime alone; it is then also compared with the raw OpenCV
runtime, where the target is at least 1.3x (what serving it on ONNX Runtime must gain).
Against the peers (peers.py only): near-free requests/s at least 0.5x MLServer's with the
two-request protocol and 1.0x with the one-request mode; ResNet images/s at c16 above
MLServer's; the official client's c1 p50 within 5 ms of the long-poll client's. MLServer is
measured in more than one configuration (one inference worker process, or inference in the
API process): each target compares with the faster of them on its workload, and says which.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

C16_VS_RAW_BEST = 0.95
C16_VS_RAW_REFERENCE_BEST = 1.3
C1_MARGIN_MS = 3.0
TAIL_FACTOR = 3.0
TWO_REQUEST_VS_MLSERVER = 0.5
ONE_REQUEST_VS_MLSERVER = 1.0
RESNET_VS_MLSERVER = 1.0
OFFICIAL_CLIENT_GAP_MS = 5.0
METRICS_ON_VS_OFF = 0.97

Row = dict[str, Any]


def target(value: float, limit: float, sense: str) -> dict[str, Any]:
    """``value`` against ``limit``; ``sense`` is ``>=``, ``>`` or ``<=``."""
    met = {">=": value >= limit, ">": value > limit, "<=": value <= limit}[sense]
    return {"value": round(value, 3), "limit": round(limit, 3), "sense": sense, "met": met}


def not_measured(reason: str, limit: float | None = None, sense: str = "") -> dict[str, Any]:
    """A target whose figure could not be taken (e.g. a mode the server does not offer)."""
    return {"value": reason, "limit": limit, "sense": sense, "met": None}


def info(value: float) -> dict[str, Any]:
    """A figure reported next to the targets, with no limit."""
    return {"value": round(value, 3), "limit": None, "sense": "", "met": None}


def usable(row: Row | None) -> bool:
    return bool(row) and not row.get("unsupported") and bool(row.get("requests"))


def _ratio_target(numerator: Row | None, denominator: Row | None, limit: float, sense: str):
    if not usable(denominator):
        return None
    if not usable(numerator):
        reason = ((numerator or {}).get("unsupported") and "unsupported") or "not measured"
        return not_measured(reason, limit, sense)
    return target(numerator["per_second"] / denominator["per_second"], limit, sense)


def vulcain_alone(runs: dict[str, dict[str, Row]], raw: dict[str, Any]) -> dict[str, Any]:
    """The targets on Vulcain alone. ``runs``: per mode (``two_request``, ``one_request``),
    rows ``near_free_c16``, ``resnet_c1``, ``resnet_c16``; ``raw``: ``best_images_per_s``,
    ``single_latency_ms``, ``decode_preprocess_ms`` (absent without the ResNet)."""
    found: dict[str, Any] = {}
    for mode, rows in runs.items():
        for key in ("near_free_c16", "resnet_c16"):
            row = rows.get(key)
            if row is None:
                continue
            if not usable(row):
                found[f"{key}_tail_{mode}"] = not_measured("unsupported", TAIL_FACTOR, "<=")
            else:
                found[f"{key}_tail_{mode}"] = target(
                    row["p99_ms"] / row["p50_ms"], TAIL_FACTOR, "<="
                )
        if "resnet_c16" in rows and raw:
            best = {"per_second": raw["best_images_per_s"], "requests": 1}
            found[f"resnet_c16_vs_raw_best_{mode}"] = _ratio_target(
                rows["resnet_c16"], best, C16_VS_RAW_BEST, ">="
            )
        if "resnet_c1" in rows and raw:
            limit = raw["single_latency_ms"] + raw["decode_preprocess_ms"] + C1_MARGIN_MS
            row = rows["resnet_c1"]
            found[f"resnet_c1_p50_ms_{mode}"] = (
                target(row["p50_ms"], limit, "<=")
                if usable(row)
                else not_measured("unsupported", round(limit, 3), "<=")
            )
    return found


def fastest(configurations: dict[str, dict[str, Row]], key: str) -> tuple[str, Row] | None:
    """The configuration (name, its row ``key``) with the highest rate on ``key``, among
    those that ran it; ``None`` when none did."""
    ran = {name: rows[key] for name, rows in configurations.items() if usable(rows.get(key))}
    if not ran:
        return None
    name = max(ran, key=lambda name: ran[name]["per_second"])
    return name, ran[name]


def against_peers(
    vulcain: dict[str, Row], mlservers: dict[str, dict[str, Row]], mosec: dict[str, Row]
) -> dict[str, Any]:
    """The targets against MLServer, and the Mosec ratios (reported with no limit).
    ``mlservers``: the rows of each MLServer configuration; every comparison takes the
    fastest of them on its workload and names it (``versus``)."""
    found: dict[str, Any] = {}
    pairs = (
        ("near_free_two_request_vs_mlserver", "two_request_near_free_c16", "near_free_c16",
         TWO_REQUEST_VS_MLSERVER, ">="),
        ("near_free_one_request_vs_mlserver", "one_request_near_free_c16", "near_free_c16",
         ONE_REQUEST_VS_MLSERVER, ">="),
        ("resnet_c16_two_request_vs_mlserver", "two_request_resnet_c16", "resnet_c16",
         RESNET_VS_MLSERVER, ">"),
        ("resnet_c16_one_request_vs_mlserver", "one_request_resnet_c16", "resnet_c16",
         RESNET_VS_MLSERVER, ">"),
        ("near_free_v2_vs_mlserver", "v2_near_free_c16", "near_free_c16",
         ONE_REQUEST_VS_MLSERVER, ">="),
        ("resnet_c16_v2_vs_mlserver", "v2_resnet_c16", "resnet_c16", RESNET_VS_MLSERVER, ">"),
    )  # fmt: skip
    for name, ours, theirs, limit, sense in pairs:
        best = fastest(mlservers, theirs)
        if ours in vulcain and best:
            compared = _ratio_target(vulcain[ours], best[1], limit, sense)
            found[name] = compared and {**compared, "versus": best[0]}
    official, longpoll = vulcain.get("official_client_c1"), vulcain.get("longpoll_client_c1")
    if official and longpoll:
        gap = official["p50_ms"] - longpoll["p50_ms"]
        found["official_client_c1_p50_gap_ms"] = target(gap, OFFICIAL_CLIENT_GAP_MS, "<=")
    best = fastest(mlservers, "near_free_c16")
    if usable(mosec.get("near_free_c16")) and best:
        ratio = mosec["near_free_c16"]["per_second"] / best[1]["per_second"]
        found["next_mark_mosec_vs_mlserver_near_free"] = {**info(ratio), "versus": best[0]}
    for mode in ("two_request", "one_request", "v2"):
        ours = vulcain.get(f"{mode}_near_free_c16")
        if usable(ours) and usable(mosec.get("near_free_c16")):
            ratio = ours["per_second"] / mosec["near_free_c16"]["per_second"]
            found[f"vulcain_{mode}_vs_mosec_near_free"] = info(ratio)
    return {name: value for name, value in found.items() if value is not None}


def against_raw_copies(runs: dict[str, dict[str, Row]], raw: dict[str, Any]) -> dict[str, Any]:
    """Vulcain's ResNet images/s at c16 over the raw figure of one network copy per core on
    one OpenCV thread each (``raw["one_copy_per_core"]``): reported with no limit."""
    copies = raw.get("one_copy_per_core")
    found = {}
    for mode, rows in runs.items():
        row = rows.get("resnet_c16")
        if copies and usable(row):
            ratio = row["per_second"] / copies["best_images_per_s"]
            found[f"resnet_c16_vs_raw_copies_{mode}"] = info(ratio)
    return found


def against_raw_reference(
    runs: dict[str, dict[str, Row]], reference: dict[str, Any]
) -> dict[str, Any]:
    """Vulcain's ResNet images/s at c16, served on the converted network, over the raw
    reference runtime's (OpenCV's) best batch."""
    found = {}
    best = {"per_second": reference.get("best_images_per_s"), "requests": 1}
    for mode, rows in runs.items():
        row = rows.get("resnet_c16")
        if row is not None and best["per_second"]:
            compared = _ratio_target(row, best, C16_VS_RAW_REFERENCE_BEST, ">=")
            if compared:
                found[f"resnet_c16_vs_raw_opencv_best_{mode}"] = compared
    return found


def print_busy_warning(console: Console, machine: dict[str, Any]) -> None:
    """Say so when other processes were using the cores: every figure is then low."""
    busiest = max(machine["load_average_at_start"][0], machine["load_average_at_end"][0])
    if busiest > 0.5 * (machine["cores"] or 1):
        console.print(
            f"[yellow]load average up to {busiest} on {machine['cores']} cores: other "
            "processes shared the machine, so rates are low and latencies high[/]"
        )


def print_errors(console: Console, rows: dict[str, dict[str, Any]]) -> None:
    """The first failures of every run that had some."""
    for label, row in rows.items():
        if row and row.get("errors"):
            console.print(f"[red]{label}: {row['errors']} failed[/], e.g. {row['first_errors'][0]}")


def print_targets(console: Console, targets: dict[str, dict[str, Any]]) -> None:
    table = Table(title="Targets (reported, not asserted)")
    for column in ("target", "measured", "limit", "met"):
        table.add_column(column)
    for name, found in targets.items():
        met = found["met"]
        limit = "" if found["limit"] is None else f"{found['sense']} {found['limit']}"
        mark = "[green]yes[/]" if met else ("[red]no[/]" if met is False else "-")
        label = f"{name} [dim](vs {found['versus']})[/]" if found.get("versus") else name
        table.add_row(label, str(found["value"]), limit, mark)
    console.print(table)

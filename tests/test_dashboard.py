"""The Grafana dashboard in docs/: a dashboard Grafana can import (its datasource an input,
its variable defined, its panels laid out), every query valid PromQL, and every series it
reads one that Vulcain exports, with the labels it groups and filters by."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import promql_parser
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from vulcain.metrics import STAGES, Metrics

DASHBOARD = Path(__file__).resolve().parents[1] / "docs" / "grafana-dashboard.json"
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def _dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def _queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query, the dashboard's variables substituted."""
    dashboard = _dashboard()
    variables = {f"${item['name']}": item["allValue"] for item in _variables(dashboard)}
    found = []
    for panel in dashboard["panels"]:
        for query in panel.get("targets", []):
            expr = query["expr"]
            for name, value in {**GRAFANA_VARIABLES, **variables}.items():
                expr = expr.replace(name, value)
            found.append((panel["title"], expr))
    return found


def _variables(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return dashboard["templating"]["list"]


def _exported_series() -> dict[str, set[str]]:
    """Each sample name a busy Vulcain process exports, with its label names."""
    metrics = Metrics()
    network = metrics.network("7")
    for stage in STAGES:
        network.stages[stage].observe(0.001)
    network.batch_size.observe(2)
    network.queued.inc()
    metrics.tasks.labels("inference", "success").inc()
    metrics.http_requests.labels("POST", "/v0.7/networks/{network_id}/inference", "200").inc()
    metrics.http_seconds.labels("POST", "/v0.7/networks/{network_id}/inference").observe(0.01)
    metrics.models_loaded.set(1)
    metrics.model_memory.labels("7").set(1 << 20)
    metrics.evictions.inc()
    metrics.deploy_seconds.observe(3)
    exposition = generate_latest(metrics.registry).decode()
    series: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            series.setdefault(sample.name, set()).update(sample.labels)
    return series


def _selectors(expr: promql_parser.Expr) -> list[promql_parser.VectorSelector]:
    found = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)

    promql_parser.walk(expr, visit)
    return found


def _grouping_labels(expr: promql_parser.Expr) -> set[str]:
    labels: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            labels.update(node.modifier.labels)

    promql_parser.walk(expr, visit)
    return labels


def test_the_dashboard_is_an_importable_grafana_dashboard():
    dashboard = _dashboard()
    inputs = {f"${{{item['name']}}}" for item in dashboard["__inputs"]}
    assert [item["type"] for item in dashboard["__inputs"]] == ["datasource"]
    assert dashboard["schemaVersion"] >= 36 and dashboard["title"] and dashboard["uid"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] in inputs, panel["title"]
        assert panel["targets"], panel["title"]
        place = panel["gridPos"]
        assert place["x"] + place["w"] <= 24, panel["title"]
        covered = {
            (x, y)
            for x in range(place["x"], place["x"] + place["w"])
            for y in range(place["y"], place["y"] + place["h"])
        }
        assert not covered & cells, f"{panel['title']} overlaps another panel"
        cells |= covered
    exported = _exported_series()
    for variable in _variables(dashboard):
        assert variable["datasource"]["uid"] in inputs
        function, arguments = variable["definition"].rstrip(")").split("(", 1)
        series, label = (part.strip() for part in arguments.split(","))
        assert function == "label_values" and label in exported[series], variable["name"]


def test_the_dashboard_covers_throughput_stages_batches_and_memory():
    read = " ".join(expr for _, expr in _queries())
    for series in (
        "vulcain_inference_stage_seconds_count",
        "vulcain_inference_stage_seconds_bucket",
        "vulcain_batch_size_bucket",
        "vulcain_model_memory_bytes",
        "vulcain_http_requests_total",
    ):
        assert series in read


@pytest.mark.parametrize(("panel", "expr"), _queries())
def test_every_query_parses_and_reads_exported_series(panel: str, expr: str):
    parsed = promql_parser.parse(expr)
    exported = _exported_series()
    selectors = _selectors(parsed)
    assert selectors, f"{panel}: reads no series"
    labels: set[str] = set()
    for selector in selectors:
        assert selector.name in exported, f"{panel}: Vulcain exports no {selector.name}"
        labels |= exported[selector.name]
        for matcher in selector.matchers.matchers:
            assert matcher.name in exported[selector.name], f"{panel}: {matcher.name}"
    assert _grouping_labels(parsed) <= labels, panel

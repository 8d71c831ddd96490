"""What an operator sees of a real ``vulcain serve``: the Prometheus numbers of N
inferences read back, request ids in answers and in JSON log lines, and the metrics
moved to a port of their own or turned off."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from tests.builders import onnx_identity
from tests.scrapes import scrape
from tests.servers import VulcainServer, free_port, vulcain_server

pytestmark = pytest.mark.slow

STAGES = ("read", "decode", "preprocess", "queue", "forward", "encode")
INFERENCES = 12


def _body(seed: int) -> dict:
    pixels = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    source = "data:image/*;base64," + base64.b64encode(cv2.imencode(".png", pixels)[1]).decode()
    return {"inputs": [{"image": {"source": source}}], "output_tensors": ["out"]}


def _deploy(http: httpx.Client, folder: Path) -> int:
    preprocessing = {"inputs": [{"tensor_name": "data", "image": {"target_size": "8x8"}}]}
    created = http.post(
        "/networks",
        data={"name": "id", "framework": "onnx", "preprocessing": json.dumps(preprocessing)},
        files={"model.onnx": onnx_identity(folder)["model.onnx"].read_bytes()},
    ).json()
    deployed = http.get(f"/tasks/{created['task_id']}", params={"wait": 60}).json()
    assert deployed["status"] == "success", deployed
    return int(created["id"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VulcainServer]:
    with vulcain_server(tmp_path_factory.mktemp("operations"), log_format="json") as running:
        yield running


def test_every_stage_of_every_inference_is_counted(server: VulcainServer, tmp_path: Path):
    with server.http() as http:
        network = str(_deploy(http, tmp_path))
        url = f"/networks/{network}/inference"
        for seed in range(INFERENCES):
            if seed % 2:
                task = http.post(url, params={"wait": 30}, json=_body(seed)).json()
            else:
                task_id = http.post(url, json=_body(seed)).json()["task_id"]
                task = http.get(f"/tasks/{task_id}", params={"wait": 30}).json()
            assert task["status"] == "success", task
    metrics = scrape(server.url + "/metrics")
    for stage in STAGES:
        seconds = "vulcain_inference_stage_seconds"
        assert metrics.value(f"{seconds}_count", network=network, stage=stage) == INFERENCES
        assert metrics.value(f"{seconds}_sum", network=network, stage=stage) > 0
    assert metrics.value("vulcain_batch_size_sum", network=network) == INFERENCES
    assert 1 <= metrics.value("vulcain_batch_size_count", network=network) <= INFERENCES
    assert metrics.value("vulcain_queued_requests", network=network) == 0
    inference = "/v0.7/networks/{network_id}/inference"
    assert metrics.value("vulcain_http_requests_total", route=inference, status="200") == (
        INFERENCES
    )
    assert metrics.value("vulcain_http_request_seconds_count", route=inference) == INFERENCES
    assert metrics.value("vulcain_tasks_total", kind="inference", outcome="success") >= (INFERENCES)
    assert metrics.value("vulcain_tasks_total", kind="deploy", outcome="success") >= 1
    assert metrics.value("vulcain_models_loaded") >= 1
    assert metrics.value("vulcain_model_memory_bytes", network=network) > 0
    assert metrics.value("vulcain_deployment_seconds_count") >= 1

    with server.http() as http:  # a deleted network's series go
        assert http.delete(f"/networks/{network}").status_code == 204
    assert network not in scrape(server.url + "/metrics").labels(
        "vulcain_inference_stage_seconds_count", "network"
    )


def test_request_ids_are_answered_and_in_every_log_line_of_the_request(
    server: VulcainServer, tmp_path: Path
):
    with server.http() as http:
        network = _deploy(http, tmp_path)
        given = http.get("/tasks/999999", headers={"X-Request-ID": "client-chosen.id-1"})
        assert given.headers["x-request-id"] == "client-chosen.id-1"
        made = http.post(f"/networks/{network}/inference", json=_body(1))
        request_id = made.headers["x-request-id"]
        assert len(request_id) >= 8 and request_id != given.headers["x-request-id"]
        task_id = made.json()["task_id"]
        insane = http.get("/tasks/1", headers={"X-Request-ID": "bad id\twith spaces"})
        assert insane.headers["x-request-id"] != "bad id\twith spaces"
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    access = {line.get("request_id"): line for line in lines if line["logger"] == "vulcain.access"}
    assert access["client-chosen.id-1"]["status"] == 404
    assert access["client-chosen.id-1"]["route"] == "/v0.7/tasks/{task_id}"
    inference = access[request_id]
    assert inference["task_id"] == task_id and inference["network"] == str(network)
    assert inference["route"] == "/v0.7/networks/{network_id}/inference"
    assert inference["status"] == 200 and inference["duration_ms"] > 0


def test_metrics_on_a_port_of_their_own_or_off(tmp_path: Path):
    port = free_port()
    with vulcain_server(tmp_path / "port", metrics_port=str(port)) as moved:
        assert httpx.get(moved.url + "/metrics").status_code == 404
        assert scrape(f"http://127.0.0.1:{port}/metrics").value("vulcain_models_loaded") == 0
    with vulcain_server(tmp_path / "off", metrics="false", metrics_port=str(port)) as off:
        assert httpx.get(off.url + "/metrics").status_code == 404
        with pytest.raises(httpx.ConnectError):  # off means recorded and served nowhere
            httpx.get(f"http://127.0.0.1:{port}/metrics")


def test_an_evicted_network_drops_its_series(tmp_path: Path):
    with vulcain_server(tmp_path / "evict", max_models="1") as running, running.http() as http:
        first, second = (str(_deploy(http, tmp_path / name)) for name in ("a", "b"))
        for network in (first, second):  # each inference loads its network, evicting the other
            task = http.post(f"/networks/{network}/inference", params={"wait": 30}, json=_body(0))
            assert task.json()["status"] == "success", task.text
        metrics = scrape(running.url + "/metrics")
    stages = metrics.labels("vulcain_inference_stage_seconds_count", "network")
    assert second in stages and first not in stages
    assert metrics.labels("vulcain_model_memory_bytes", "network") == {second}
    assert metrics.value("vulcain_model_evictions_total") >= 2
    assert metrics.value("vulcain_models_loaded") == 1

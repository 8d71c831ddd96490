"""How a real ``vulcain serve`` answers an inference: ``{"task_id"}`` as the spec says, the
task itself in one request with ``?wait=``, and a poll without ``wait`` that is held for a
running inference (never longer than the grace, never for a queued one)."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from tests.builders import onnx_identity, onnx_slow_identity
from tests.servers import VulcainServer, vulcain_server

pytestmark = pytest.mark.slow

GRACE_MS = 1000
SLOW_MATMULS = 40
"""About 0.1 s a forward pass on 2 idle cores, more under load."""
SLOWER_MATMULS = 10 * SLOW_MATMULS
"""About 1 s a forward pass on 2 idle cores: the grace, and far more than sending a
request takes."""
BRIEF_MATMULS = 10
"""About 0.025 s a forward pass on 2 idle cores: longer than a poll takes to arrive, so the
poll finds it running, and well within the grace on a machine that is not overloaded."""


def _preprocessing(batched: bool = True) -> str:
    image = {"target_size": "16x16"}
    return json.dumps(
        {"inputs": [{"tensor_name": "data", "image": image}], "batched_output": batched}
    )


def _deploy(http: httpx.Client, name: str, files: dict[str, Path], batched: bool = True) -> int:
    created = http.post(
        "/networks",
        data={"name": name, "framework": "onnx", "preprocessing": _preprocessing(batched)},
        files={"model.onnx": files["model.onnx"].read_bytes()},
    )
    assert created.status_code == 201, created.text
    network = created.json()
    deployed = http.get(f"/tasks/{network['task_id']}", params={"wait": 60}).json()
    assert deployed["status"] == "success", deployed
    return int(network["id"])


def _body(seed: int) -> tuple[dict, list[float]]:
    pixels = np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    png = cv2.imencode(".png", pixels)[1].tobytes()
    source = "data:image/*;base64," + base64.b64encode(png).decode()
    body = {"inputs": [{"image": {"source": source}}], "output_tensors": ["out"]}
    return body, pixels.astype(np.float32).transpose(2, 0, 1).ravel().tolist()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VulcainServer]:
    with vulcain_server(
        tmp_path_factory.mktemp("answers"), workers="2", task_poll_grace_ms=str(GRACE_MS)
    ) as running:
        yield running


@pytest.fixture(scope="module")
def http(server: VulcainServer) -> Iterator[httpx.Client]:
    with server.http() as client:
        yield client


@pytest.fixture(scope="module")
def networks(http: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    folder = tmp_path_factory.mktemp("models")
    brief = onnx_slow_identity(folder / "brief", matmuls=BRIEF_MATMULS)
    slower = onnx_slow_identity(folder / "slower", matmuls=SLOWER_MATMULS)
    return {
        "fast": _deploy(http, "fast", onnx_identity(folder / "fast")),
        "brief": _deploy(http, "brief", brief, batched=False),
        "slower": _deploy(http, "slower", slower, batched=False),
    }


def test_without_wait_the_answer_is_the_task_id_alone(http, networks):
    body, _ = _body(1)
    answer = http.post(f"/networks/{networks['fast']}/inference", json=body)
    assert answer.status_code == 200
    assert set(answer.json()) == {"task_id"}


def test_with_wait_one_request_answers_the_finished_task(http, networks):
    body, expected = _body(2)
    answer = http.post(f"/networks/{networks['fast']}/inference", params={"wait": 30}, json=body)
    assert answer.status_code == 200, answer.text
    task = answer.json()
    assert set(task) == {"id", "name", "status", "error", "data", "create_date", "update_date"}
    assert task["status"] == "success", task
    (tensor,) = task["data"]["tensors"]
    assert tensor["name"] == "out" and tensor["shape"] == tensor["dims"] == [1, 3, 16, 16]
    assert tensor["data"] == expected
    assert http.get(f"/tasks/{task['id']}").json() == task


def _stored(server: VulcainServer, task_id: int) -> tuple[str, bool]:
    """The task's status in the server's database, and whether its request is stored."""
    with sqlite3.connect(server.data_dir / "vulcain.db") as db:
        (status,) = db.execute("SELECT status FROM tasks WHERE id = ?", (task_id,)).fetchone()
        request = db.execute("SELECT 1 FROM inference_requests WHERE task_id = ?", (task_id,))
        return status, request.fetchone() is not None


def test_a_request_held_to_its_end_writes_its_task_once_ended_with_no_request(
    server, http, networks
):
    body, _ = _body(3)
    held = http.post(f"/networks/{networks['fast']}/inference", params={"wait": 30}, json=body)
    assert held.json()["status"] == "success"
    # Committed before the answer, already ended: no request kept to run it again.
    assert _stored(server, held.json()["id"]) == ("success", False)
    polled = http.post(f"/networks/{networks['fast']}/inference", json=body).json()["task_id"]
    assert http.get(f"/tasks/{polled}", params={"wait": 30}).json()["status"] == "success"
    assert _stored(server, polled)[1]  # accepted pending: its request is kept


def test_a_request_held_past_its_wait_answers_its_pending_task_which_then_ends(
    server, http, networks
):
    body, expected = _body(4)
    held = http.post(f"/networks/{networks['slower']}/inference", params={"wait": 0.05}, json=body)
    task = held.json()
    assert task["status"] == "pending", task
    assert _stored(server, task["id"]) == ("pending", True)
    ended = http.get(f"/tasks/{task['id']}", params={"wait": 60}).json()
    assert ended["status"] == "success", ended
    assert ended["data"]["tensors"][0]["data"] == expected


def test_a_held_inference_that_fails_answers_its_error_at_once(server, http, networks):
    garbage = "data:image/*;base64," + base64.b64encode(b"not an image at all").decode()
    body = {"inputs": [{"image": {"source": garbage}}], "output_tensors": ["out"]}
    held = http.post(f"/networks/{networks['fast']}/inference", params={"wait": 30}, json=body)
    task = held.json()
    assert held.status_code == 200 and task["status"] == "error", task
    assert "decode" in task["error"].lower() or "image" in task["error"].lower(), task
    assert _stored(server, task["id"]) == ("error", False)
    assert http.get(f"/tasks/{task['id']}").json() == task


def test_a_poll_without_wait_gets_a_running_inference_at_the_first_look(http, networks):
    """The poll arrives while the forward pass runs and is held until it ends. On a machine
    so loaded that the pass outlasts the grace, the poll must then have been held for the
    whole grace: answering a running inference at once would fail either way."""
    body, expected = _body(3)
    task_id = http.post(f"/networks/{networks['brief']}/inference", json=body).json()["task_id"]
    started = time.monotonic()
    task = http.get(f"/tasks/{task_id}").json()
    held = time.monotonic() - started
    if task["status"] != "success":
        assert task["status"] == "pending", task
        assert held >= GRACE_MS / 1000, f"a running inference's poll answered after {held:.2f} s"
        task = http.get(f"/tasks/{task_id}", params={"wait": 60}).json()
    assert task["status"] == "success", task
    assert task["data"]["tensors"][0]["data"] == expected


def test_a_poll_is_held_no_longer_than_the_grace(tmp_path):
    grace_ms = 100
    with (
        vulcain_server(tmp_path, task_poll_grace_ms=str(grace_ms)) as server,
        server.http() as http,
    ):
        slow = onnx_slow_identity(tmp_path / "slow", matmuls=SLOW_MATMULS * 20)
        network_id = _deploy(http, "slower", slow, batched=False)
        body, _ = _body(4)
        task_id = http.post(f"/networks/{network_id}/inference", json=body).json()["task_id"]
        started = time.monotonic()
        task = http.get(f"/tasks/{task_id}").json()
        held = time.monotonic() - started
        assert task["status"] == "pending", "the forward pass ended within the grace"
        assert held >= grace_ms / 1000
        done = http.get(f"/tasks/{task_id}", params={"wait": 60}).json()
        assert done["status"] == "success"


def test_a_poll_on_a_queued_inference_is_not_held(http, networks):
    first, _ = _body(5)
    second, expected = _body(6)
    url = f"/networks/{networks['slower']}/inference"
    # One image at a time on the slower network: the second waits in its model's queue
    # for a forward pass far longer than the requests take to send.
    http.post(url, json=first)
    queued = http.post(url, json=second).json()["task_id"]
    time.sleep(0.05)  # its preparation (decoding a 16x16 PNG) is over
    started = time.monotonic()
    task = http.get(f"/tasks/{queued}").json()
    held = time.monotonic() - started
    assert task["status"] == "pending", "held until it ran: it was not merely queued"
    # Held, it would have been answered after the whole grace (the backlog outlasts it).
    assert held < GRACE_MS / 1000, f"a queued task was held {held:.2f} s"
    done = http.get(f"/tasks/{queued}", params={"wait": 60}).json()
    assert done["data"]["tensors"][0]["data"] == expected

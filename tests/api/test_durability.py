"""A task whose id was answered survives a ``kill -9`` of the embedded server.

A real ``vulcain serve`` (one task thread, SQLite, local files) gets a stream of
inference requests on a deliberately slow network, one request per forward pass
(``batched_output: false``), faster than it can run them. Once the API itself says that
at least :data:`MIN_PENDING` answered tasks are still ``pending``, the server is killed
with SIGKILL while requests are still arriving, then started again on the same data
folder. Every task id that was answered must then finish ``success`` with exactly the
tensor of its own image (each request sends a different image and the network's output
is its input), and none may be unknown (404).

The pending check is what makes the kill hit unfinished work: no timing is assumed, the
stream simply runs until the server reports enough pending tasks. Because the stream is
still running at the kill, the answered tasks include some answered a few milliseconds
before it.

It fails when the server
- answers a task id before the task and its request are committed (a write-behind
  buffer, a group commit that settles before it commits, a request body kept only in
  memory): the task is missing from the listing before the kill, 404 after the restart,
  or ``error`` because its stored request is gone;
- does not resubmit, at start, every task a crash left pending (no recovery, a recovery
  of one page of them only, or of deployments only): tasks stay ``pending``;
- writes a result to the wrong task when recovered tasks run again: a tensor differs;
- answers two requests with the same task id.

The request stream, the images and the result check are shared with the scale-out test
of the same guarantee (tests/scaleout/test_replica_kill.py).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from tests.builders import onnx_slow_identity
from tests.servers import vulcain_server

pytestmark = pytest.mark.slow

SIZE = 16
OUTPUT = "out"
MIN_PENDING = 200
SENDERS = 8
MAX_REQUESTS = 3000
PENDING_TIMEOUT_S = 120.0
STALL_TIMEOUT_S = 60.0
"""Generous limits, reached only when the test fails: how long the stream may take to
leave MIN_PENDING tasks pending, how long answered tasks may go without one finishing."""


def preprocessing(*, batched_output: bool) -> dict:
    """Pixels as they are (BGR, NCHW, no resize: images are already SIZE x SIZE)."""
    image = {
        "dimension_order": "NCHW",
        "target_size": f"{SIZE}x{SIZE}",
        "resize_type": "SQUASH",
        "color_channels": "BGR",
        "pixel_scaling": 255.0,
        "data_type": "FLOAT32",
    }
    return {"inputs": [{"tensor_name": "data", "image": image}], "batched_output": batched_output}


def pixels(index: int) -> np.ndarray:
    """The distinct image of request ``index``: random pixels, the index in the first one."""
    image = np.random.default_rng(index).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    image[0, 0] = (index % 256, index // 256 % 256, 255)
    return image


def image_source(index: int) -> str:
    png = cv2.imencode(".png", pixels(index))[1].tobytes()
    return "data:image/*;base64," + base64.b64encode(png).decode()


def expected_tensor(index: int) -> dict:
    """What an identity network answers for image ``index``."""
    shape = [1, 3, SIZE, SIZE]
    data = pixels(index).astype(np.float32).transpose(2, 0, 1).ravel().tolist()
    return {"name": OUTPUT, "shape": shape, "dims": shape, "data": data}


class RequestStream:
    """``senders`` threads posting inference requests to ``base_url`` (``.../v0.7``), each
    with the next image index, until :meth:`stop` or ``limit`` requests. ``answered`` maps
    each task id answered to its image index.

    Before :meth:`expect_death`, anything but a 200 with a new task id is a failure; after
    it, a request that gets no answer just ends its thread (its fate is unknown, so the
    test checks only the answered ones)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        network_id: int,
        *,
        senders: int = SENDERS,
        limit: int = MAX_REQUESTS,
    ) -> None:
        self._base_url = base_url
        self._api_key = api_key
        self._path = f"/networks/{network_id}/inference"
        self._indexes = iter(range(limit))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._dying = threading.Event()
        self.answered: dict[int, int] = {}
        self.failures: list[str] = []
        self._threads = [
            threading.Thread(target=self._send, name=f"sender-{n}", daemon=True)
            for n in range(senders)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def snapshot(self) -> dict[int, int]:
        with self._lock:
            return dict(self.answered)

    def expect_death(self) -> None:
        """The server is about to be killed: unanswered requests are expected from now."""
        self._dying.set()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=90)

    def _next_index(self) -> int | None:
        with self._lock:
            return next(self._indexes, None)

    def _send(self) -> None:
        headers = {"X-API-KEY": self._api_key}
        with httpx.Client(base_url=self._base_url, headers=headers, timeout=60.0) as http:
            while not self._stop.is_set() and (index := self._next_index()) is not None:
                body = {
                    "inputs": [{"image": {"source": image_source(index)}}],
                    "output_tensors": [OUTPUT],
                }
                try:
                    response = http.post(self._path, json=body)
                except httpx.TransportError as error:
                    if not self._dying.is_set():
                        self._fail(f"request {index}: {error!r}")
                    return
                if response.status_code != 200:
                    self._fail(f"request {index}: {response.status_code} {response.text}")
                    return
                task_id = response.json()["task_id"]
                with self._lock:
                    if task_id in self.answered:
                        self.failures.append(f"task id {task_id} answered twice")
                    self.answered[task_id] = index

    def _fail(self, message: str) -> None:
        with self._lock:
            self.failures.append(message)


def count_pending(http: httpx.Client, task_ids: list[int]) -> int:
    """How many of ``task_ids`` the API lists as pending (pages of up to 500 ids)."""
    pending = 0
    for start in range(0, len(task_ids), 500):
        chunk = task_ids[start : start + 500]
        response = http.get("/tasks", params={"task_ids": ",".join(map(str, chunk)), "limit": 1000})
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["count"] == len(chunk), "an answered task is not listed"
        pending += sum(task["status"] == "pending" for task in page["results"])
    return pending


def wait_until_pending(http: httpx.Client, stream: RequestStream, minimum: int) -> int:
    """Poll until at least ``minimum`` answered tasks are pending; return how many."""
    deadline = time.monotonic() + PENDING_TIMEOUT_S
    while time.monotonic() < deadline:
        assert not stream.failures, stream.failures[:5]
        answered = sorted(stream.snapshot())
        if len(answered) >= minimum and (pending := count_pending(http, answered)) >= minimum:
            return pending
        if not stream.running():
            break
        time.sleep(0.1)
    raise AssertionError(
        f"never {minimum} pending tasks among {len(stream.snapshot())} answered: "
        "the network runs too fast for this test"
    )


def _settled(http: httpx.Client, task_id: int, deadline: float) -> dict | None:
    """The task once it is finished, or as it is at ``deadline``; ``None`` if unknown."""
    while True:
        wait = max(0.0, min(10.0, deadline - time.monotonic()))
        response = http.get(f"/tasks/{task_id}", params={"wait": wait})
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        task = response.json()
        if task["status"] != "pending" or not wait:
            return task


def check_all_finished(http: httpx.Client, answered: dict[int, int]) -> None:
    """Long-poll every answered task until it finishes; each must be ``success`` with the
    tensor of its own image, and none unknown. Gives up once no task has finished for
    ``STALL_TIMEOUT_S``, however long the whole takes under load."""
    deadline = time.monotonic() + STALL_TIMEOUT_S
    missing: list[int] = []
    unfinished: list[int] = []
    wrong: list[dict] = []
    for task_id, index in sorted(answered.items()):
        task = _settled(http, task_id, deadline)
        if task is None:
            missing.append(task_id)
        elif task["status"] == "pending":
            unfinished.append(task_id)
        else:
            deadline = time.monotonic() + STALL_TIMEOUT_S
            if task["status"] != "success" or task["data"] != {"tensors": [expected_tensor(index)]}:
                wrong.append({"id": task_id, "image": index, **task})
    assert not missing, f"{len(missing)} answered tasks are unknown: {missing[:20]}"
    assert not unfinished, f"{len(unfinished)} answered tasks never finished: {unfinished[:20]}"
    assert not wrong, f"{len(wrong)} answered tasks ended wrong; first: {wrong[0]}"


def _create_network(http: httpx.Client, files: dict[str, Path]) -> dict:
    response = http.post(
        "/networks",
        data={
            "name": "slow identity",
            "framework": "onnx",
            "preprocessing": json.dumps(preprocessing(batched_output=False)),
        },
        files={"model.onnx": files["model.onnx"].read_bytes()},
    )
    assert response.status_code == 201, response.text
    network = response.json()
    deployment = http.get(f"/tasks/{network['task_id']}", params={"wait": 60}).json()
    assert deployment["status"] == "success", deployment
    return network


def test_answered_tasks_survive_a_kill_9_of_the_embedded_server(tmp_path):
    # The network's output is its input, computed through 12 products of 512 copies of
    # the image by a 768 x 768 identity matrix: about 7 GFLOP, some 35 ms a forward on 2
    # idle cores (more under load, which only helps), one request at a time; answering a
    # request takes a few ms, so pending tasks pile up behind 8 sending threads.
    files = onnx_slow_identity(tmp_path / "model")
    with vulcain_server(tmp_path, workers="1") as first, first.http() as http:
        network = _create_network(http, files)
        stream = RequestStream(first.url + "/v0.7", first.api_key, network["id"])
        stream.start()
        try:
            pending = wait_until_pending(http, stream, MIN_PENDING)
            stream.expect_death()
            first.process.kill()
            first.process.wait()
        finally:
            stream.stop()
    assert not stream.failures, stream.failures[:5]
    assert pending >= MIN_PENDING
    assert len(stream.answered) >= MIN_PENDING

    with (
        vulcain_server(tmp_path, api_key=first.api_key, workers="1") as second,
        second.http() as http,
    ):
        check_all_finished(http, stream.answered)

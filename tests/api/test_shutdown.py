"""SIGTERM stops a real ``vulcain serve`` gracefully, with inferences in flight.

A slow network has a backlog far longer than a shutdown may take, a client long-polls
one of the queued tasks and another holds a new inference with ``?wait``. After SIGTERM
the server must exit promptly (both are answered at once, the backlog is not run), leave
every answered task either finished (the forward passes running at the signal, with their
results written) or pending (not started), none in error; after a restart on the same
data every one succeeds.

It fails when the engine runs its whole backlog before exiting, when a long-poll or a
held inference holds the shutdown, or when stopping writes errors (or half results) for
unstarted work.
"""

from __future__ import annotations

import base64
import json
import signal
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from sqlalchemy import select

from tests.builders import onnx_slow_identity
from tests.servers import vulcain_server
from vulcain.db.database import Database
from vulcain.db.models import TaskRow

pytestmark = pytest.mark.slow

BACKLOG = 40
SLOW_MATMULS = 40
"""About 0.1 s a forward pass on 2 idle cores: the backlog is several seconds of work."""


def _body(seed: int) -> dict:
    pixels = np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    source = "data:image/*;base64," + base64.b64encode(cv2.imencode(".png", pixels)[1]).decode()
    return {"inputs": [{"image": {"source": source}}], "output_tensors": ["out"]}


def _statuses(http: httpx.Client, task_ids: list[int]) -> dict[int, str]:
    page = http.get("/tasks", params={"task_ids": ",".join(map(str, task_ids)), "limit": 1000})
    assert page.status_code == 200, page.text
    return {task["id"]: task["status"] for task in page.json()["results"]}


def _stored_statuses(data_dir: Path, task_ids: list[int]) -> list[str]:
    database = Database(f"sqlite:///{data_dir / 'vulcain.db'}")
    try:
        with database.session() as session:
            rows = session.scalars(select(TaskRow.status).where(TaskRow.id.in_(task_ids)))
            return list(rows.all())
    finally:
        database.close()


def test_sigterm_finishes_running_work_and_leaves_the_rest_pending(tmp_path):
    model = onnx_slow_identity(tmp_path / "slow", matmuls=SLOW_MATMULS)
    preprocessing = {"inputs": [{"tensor_name": "data", "image": {"target_size": "16x16"}}]}
    preprocessing["batched_output"] = False
    with vulcain_server(tmp_path) as first, first.http() as http:
        created = http.post(
            "/networks",
            data={"name": "slow", "framework": "onnx", "preprocessing": json.dumps(preprocessing)},
            files={"model.onnx": model["model.onnx"].read_bytes()},
        ).json()
        assert http.get(f"/tasks/{created['task_id']}", params={"wait": 60}).json()["status"] == (
            "success"
        )
        url = f"/networks/{created['id']}/inference"
        task_ids = [http.post(url, json=_body(seed)).json()["task_id"] for seed in range(BACKLOG)]
        assert list(_statuses(http, task_ids).values()).count("pending") > BACKLOG // 2

        answered: list[tuple[float, dict]] = []

        def long_poll() -> None:
            with first.http() as waiting:
                task = waiting.get(f"/tasks/{task_ids[-1]}", params={"wait": 60}).json()
            answered.append((time.monotonic(), task))

        held: list[tuple[float, dict]] = []

        def held_inference() -> None:  # POST ?wait, queued behind the backlog
            with first.http() as waiting:
                task = waiting.post(url, params={"wait": 60}, json=_body(BACKLOG)).json()
            held.append((time.monotonic(), task))

        poller = threading.Thread(target=long_poll)
        holder = threading.Thread(target=held_inference)
        poller.start()
        holder.start()
        time.sleep(0.5)  # the long-poll and the held inference are waiting
        signalled = time.monotonic()
        first.process.terminate()
        first.process.wait(timeout=60)
        stopped_after = time.monotonic() - signalled
        poller.join(timeout=10)
        holder.join(timeout=10)

    # uvicorn ends its graceful shutdown by raising the signal again, as a server should.
    assert first.process.returncode in (0, -signal.SIGTERM), first.log()[-3000:]
    assert "Application shutdown complete" in first.log()
    assert stopped_after < 15, f"stopping took {stopped_after:.1f} s"
    assert answered and answered[0][1]["status"] == "pending"
    assert answered[0][0] - signalled < 10, "the long-poll held the shutdown"
    assert held and held[0][1]["status"] == "pending", held
    assert held[0][0] - signalled < 10, "the held inference held the shutdown"
    task_ids.append(held[0][1]["id"])

    left = _stored_statuses(first.data_dir, task_ids)
    assert set(left) <= {"success", "pending"}, left  # nothing half-written
    assert "pending" in left, "the whole backlog ran before stopping"
    assert "success" in left, "the forward pass running at the signal was not written"

    with vulcain_server(tmp_path, api_key=first.api_key) as second, second.http() as http:
        for task_id in task_ids:
            task = http.get(f"/tasks/{task_id}", params={"wait": 60}).json()
            assert task["status"] == "success", task

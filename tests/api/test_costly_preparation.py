"""A polygon that takes minutes to fill neither holds a real ``vulcain serve`` at SIGTERM
nor, stored, holds it again at every start.

The server first runs with its limits raised, so that such a polygon is accepted and its
fill is under way at the signal: the server must exit promptly, leaving the task
pending. Restarted with the default limits, the stored task must end in error at once,
naming the limit, instead of filling the polygon again.
"""

from __future__ import annotations

import base64
import json
import signal
import time

import cv2
import numpy as np
import pytest

from tests.builders import onnx_identity
from tests.servers import vulcain_server

pytestmark = pytest.mark.slow

POINTS = 50_000
"""Random points: filled whole, a polygon of these holds a core for minutes."""


def _body() -> dict:
    pixels = np.full((1000, 1000, 3), 90, np.uint8)
    source = "data:image/*;base64," + base64.b64encode(cv2.imencode(".png", pixels)[1]).decode()
    xy = np.random.default_rng(0).random((POINTS, 2))
    polygon = [{"x": float(x), "y": float(y)} for x, y in xy]
    return {
        "inputs": [{"image": {"source": source, "polygon": polygon}}],
        "output_tensors": ["out"],
    }


def test_sigterm_stops_a_polygon_fill_and_the_stored_task_fails_at_the_next_start(tmp_path):
    model = onnx_identity(tmp_path / "model")
    preprocessing = {"inputs": [{"tensor_name": "data", "image": {"target_size": "16x16"}}]}
    raised = {"max_polygon_points": str(POINTS), "image_cpu_seconds": "3600"}
    with vulcain_server(tmp_path, **raised) as first, first.http() as http:
        created = http.post(
            "/networks",
            data={"name": "net", "framework": "onnx", "preprocessing": json.dumps(preprocessing)},
            files={"model.onnx": model["model.onnx"].read_bytes()},
        ).json()
        deployed = http.get(f"/tasks/{created['task_id']}", params={"wait": 60}).json()
        assert deployed["status"] == "success", deployed
        accepted = http.post(f"/networks/{created['id']}/inference", json=_body())
        assert accepted.status_code == 200, accepted.text
        task_id = accepted.json()["task_id"]
        time.sleep(3)  # decoding takes milliseconds: the polygon is being filled
        assert http.get(f"/tasks/{task_id}").json()["status"] == "pending"
        signalled = time.monotonic()
        first.process.terminate()
        first.process.wait(timeout=120)
        stopped_after = time.monotonic() - signalled

    assert first.process.returncode in (0, -signal.SIGTERM), first.log()[-3000:]
    assert stopped_after < 30, f"stopping took {stopped_after:.1f} s: the fill held it"

    with vulcain_server(tmp_path, api_key=first.api_key) as second, second.http() as http:
        task = http.get(f"/tasks/{task_id}", params={"wait": 60}).json()
    assert task["status"] == "error", task
    assert "VULCAIN_MAX_POLYGON_POINTS" in task["error"], task

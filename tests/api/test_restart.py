"""Kill -9 a real server during a deployment and an inference, start it again on the same
data folder: nothing is lost and no task stays pending."""

from __future__ import annotations

import base64
import json

import cv2
import httpx
import numpy as np
import pytest

from tests.builders import onnx_identity, tf_identity
from tests.servers import vulcain_server

pytestmark = pytest.mark.slow


def _preprocessing(tensor_name: str, order: str) -> str:
    image = {"target_size": "8x8", "dimension_order": order}
    return json.dumps({"inputs": [{"tensor_name": tensor_name, "image": image}]})


def _settled(client: httpx.Client, task_id: int) -> dict:
    for _ in range(12):
        task = client.get(f"/tasks/{task_id}", params={"wait": 10}).json()
        if task["status"] != "pending":
            return task
    raise AssertionError(f"task {task_id} is still pending after the restart")


def test_a_killed_server_loses_nothing_and_leaves_nothing_pending(tmp_path):
    onnx_files = onnx_identity(tmp_path / "onnx")
    tf_files = tf_identity(tmp_path / "tf")
    png = cv2.imencode(".png", np.full((8, 8, 3), 7, np.uint8))[1].tobytes()
    source = "data:image/*;base64," + base64.b64encode(png).decode()

    with vulcain_server(tmp_path, workers="1") as first:
        with first.http() as client:
            onnx = client.post(
                "/networks",
                data={
                    "name": "onnx",
                    "framework": "onnx",
                    "preprocessing": _preprocessing("data", "NCHW"),
                },
                files={"model.onnx": onnx_files["model.onnx"].read_bytes()},
            ).json()
            assert _settled(client, onnx["task_id"])["status"] == "success"
            tf = client.post(
                "/networks",
                data={
                    "name": "tf",
                    "framework": "tensorflow-1.x",
                    "preprocessing": _preprocessing("input", "NHWC"),
                },
                files={name: path.read_bytes() for name, path in tf_files.items()},
            )
            assert tf.status_code == 201, tf.text
            inference = client.post(
                f"/networks/{onnx['id']}/inference",
                json={"inputs": [{"image": {"source": source}}], "output_tensors": ["out"]},
            ).json()
        first.process.kill()
        first.process.wait()

    with (
        vulcain_server(tmp_path, api_key=first.api_key, workers="1") as server,
        server.http() as client,
    ):
        names = {n["name"] for n in client.get("/networks").json()["results"]}
        assert names == {"onnx", "tf"}
        for task_id in (tf.json()["task_id"], inference["task_id"]):
            task = _settled(client, task_id)
            assert task["status"] in ("success", "error")
            if task["status"] == "error":
                assert task["error"]
        again = client.post(
            f"/networks/{onnx['id']}/inference",
            json={"inputs": [{"image": {"source": source}}], "output_tensors": ["out"]},
        ).json()
        result = _settled(client, again["task_id"])
        assert result["data"]["tensors"][0]["data"] == [7.0] * (3 * 8 * 8)

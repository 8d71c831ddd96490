"""Kill -9 a real server while a deployment and inferences are pending, start it again on
the same data folder: nothing is lost, every task finishes ``success`` with its own result.

The kill happens only once the API itself lists the deployment and some inferences as
``pending`` (no timing is assumed: inferences on a deliberately slow network are sent
until some wait); the test fails when a task that was pending at the kill is lost (404),
stays pending, ends in ``error``, or gets another request's tensor.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.api.test_durability import expected_tensor, image_source, pixels, preprocessing
from tests.builders import onnx_slow_identity, tf_identity
from tests.servers import vulcain_server

pytestmark = pytest.mark.slow

MIN_PENDING = 3
MAX_REQUESTS = 200
SLOW_MATMULS = 40
"""About 0.1 s a forward pass on 2 idle cores (more under load), one request at a time:
an answer takes a few ms, so inferences pile up pending."""


def _settled(client: httpx.Client, task_id: int) -> dict:
    for _ in range(12):
        response = client.get(f"/tasks/{task_id}", params={"wait": 10})
        assert response.status_code == 200, f"task {task_id}: {response.text}"
        task = response.json()
        if task["status"] != "pending":
            return task
    raise AssertionError(f"task {task_id} is still pending after the restart")


def _statuses(client: httpx.Client, task_ids: list[int]) -> dict[int, str]:
    response = client.get(
        "/tasks", params={"task_ids": ",".join(map(str, task_ids)), "limit": 1000}
    )
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["count"] == len(task_ids), "an answered task is not listed"
    return {task["id"]: task["status"] for task in page["results"]}


def _infer(client: httpx.Client, network_id: int, index: int, output: str = "out") -> int:
    response = client.post(
        f"/networks/{network_id}/inference",
        json={"inputs": [{"image": {"source": image_source(index)}}], "output_tensors": [output]},
    )
    assert response.status_code == 200, response.text
    return int(response.json()["task_id"])


def test_a_killed_server_loses_nothing_and_leaves_nothing_pending(tmp_path):
    slow_files = onnx_slow_identity(tmp_path / "slow", matmuls=SLOW_MATMULS)
    tf_files = tf_identity(tmp_path / "tf")
    tf_preprocessing = preprocessing(batched_output=True)
    tf_preprocessing["inputs"][0] |= {"tensor_name": "input"}
    tf_preprocessing["inputs"][0]["image"]["dimension_order"] = "NHWC"

    with vulcain_server(tmp_path, workers="1") as first:
        with first.http() as client:
            slow = client.post(
                "/networks",
                data={
                    "name": "slow",
                    "framework": "onnx",
                    "preprocessing": json.dumps(preprocessing(batched_output=False)),
                },
                files={"model.onnx": slow_files["model.onnx"].read_bytes()},
            ).json()
            assert _settled(client, slow["task_id"])["status"] == "success"

            answered: dict[int, int] = {}  # task id -> image index
            for index in range(MAX_REQUESTS):
                answered[_infer(client, slow["id"], index)] = index
                statuses = _statuses(client, list(answered))
                if sum(status == "pending" for status in statuses.values()) >= MIN_PENDING:
                    break
            else:
                raise AssertionError(
                    f"never {MIN_PENDING} inferences pending: the network is too fast"
                )
            tf = client.post(
                "/networks",
                data={
                    "name": "tf",
                    "framework": "tensorflow-1.x",
                    "preprocessing": json.dumps(tf_preprocessing),
                },
                files={name: path.read_bytes() for name, path in tf_files.items()},
            )
            assert tf.status_code == 201, tf.text
            deployment = tf.json()["task_id"]
            at_kill = _statuses(client, [deployment, *answered])
        first.process.kill()
        first.process.wait()
    assert at_kill[deployment] == "pending", at_kill
    pending = [task_id for task_id in answered if at_kill[task_id] == "pending"]
    assert pending, at_kill

    with (
        vulcain_server(tmp_path, api_key=first.api_key, workers="1") as server,
        server.http() as client,
    ):
        names = {n["name"] for n in client.get("/networks").json()["results"]}
        assert names == {"slow", "tf"}
        deployed = _settled(client, deployment)
        assert deployed["status"] == "success", deployed
        for task_id, index in answered.items():
            task = _settled(client, task_id)
            assert task["status"] == "success", task
            assert task["data"] == {"tensors": [expected_tensor(index)]}, task_id
        # The network deployed after the restart serves.
        task = _settled(client, _infer(client, tf.json()["id"], 7, output="output"))
        assert task["status"] == "success", task
        (tensor,) = task["data"]["tensors"]
        assert tensor["shape"] == [1, 16, 16, 3]
        assert tensor["data"] == pixels(7).astype(float).ravel().tolist()

"""A finished inference task's tensors as NumPy files: by ``Accept`` on the task and on a
one-request inference, or by path; JSON stays the default."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.api.conftest import Client, deploy
from tests.builders import onnx_small_cnn
from vulcain.tasks.results import decode_tensors, encode_tensors

NPZ = {"Accept": "application/x-npz"}
NPY = {"Accept": "application/x-npy"}


@pytest.fixture(scope="module")
def cnn_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return onnx_small_cnn(tmp_path_factory.mktemp("cnn"), height=8, width=8)


@pytest.fixture
def network(client: Client, admin, cnn_files) -> int:
    return deploy(client, admin, cnn_files, name="cnn")


def _body(*outputs: str, image: bytes | None = None) -> dict:
    if image is None:
        pixels = np.random.default_rng(3).integers(0, 256, (8, 8, 3), dtype=np.uint8)
        image = cv2.imencode(".png", pixels)[1].tobytes()
    source = "data:image/*;base64," + base64.b64encode(image).decode()
    return {"inputs": [{"image": {"source": source}}], "output_tensors": list(outputs)}


def _json_tensors(task: dict) -> dict[str, np.ndarray]:
    return {
        tensor["name"]: np.array(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
        for tensor in task["data"]["tensors"]
    }


def _finished(client: Client, admin, network: int, body: dict) -> dict:
    task = client.post(
        f"/v0.7/networks/{network}/inference", headers=admin, params={"wait": 5}, json=body
    ).json()
    assert task["status"] == "success", task
    return task


def test_accept_npz_on_the_task_and_json_by_default(client: Client, admin, network):
    task = _finished(client, admin, network, _body("prob", "conv1"))
    expected = _json_tensors(task)
    assert client.get(f"/v0.7/tasks/{task['id']}", headers=admin).json() == task

    answer = client.get(f"/v0.7/tasks/{task['id']}", headers={**admin, **NPZ})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-npz"
    with np.load(io.BytesIO(answer.content)) as archive:
        assert archive.files == ["prob", "conv1"]
        for name, array in expected.items():
            assert archive[name].dtype == np.float32
            np.testing.assert_array_equal(archive[name], array)

    by_path = client.get(f"/v0.7/tasks/{task['id']}/tensors.npz", headers=admin)
    assert by_path.headers["content-type"] == "application/x-npz"
    assert by_path.content == answer.content
    one = client.get(f"/v0.7/tasks/{task['id']}/tensors/conv1.npy", headers=admin)
    assert one.status_code == 200 and one.headers["content-type"] == "application/x-npy"
    np.testing.assert_array_equal(np.load(io.BytesIO(one.content)), expected["conv1"])


def test_a_one_request_inference_answers_the_file(client: Client, admin, network):
    body = _body("prob")
    expected = _json_tensors(_finished(client, admin, network, body))
    answer = client.post(
        f"/v0.7/networks/{network}/inference",
        headers={**admin, **NPY},
        params={"wait": 5},
        json=body,
    )
    assert answer.headers["content-type"] == "application/x-npy"
    np.testing.assert_array_equal(np.load(io.BytesIO(answer.content)), expected["prob"])
    # without wait, still the task id
    started = client.post(
        f"/v0.7/networks/{network}/inference", headers={**admin, **NPZ}, json=body
    )
    assert set(started.json()) == {"task_id"}


def test_npy_of_several_tensors_is_not_acceptable(client: Client, admin, network):
    task = _finished(client, admin, network, _body("prob", "conv1"))
    answer = client.get(f"/v0.7/tasks/{task['id']}", headers={**admin, **NPY})
    assert answer.status_code == 406
    assert "application/x-npz" in answer.json()["error"]


def test_failed_deployment_and_foreign_tasks(client: Client, admin, other, network):
    failed = client.post(
        f"/v0.7/networks/{network}/inference",
        headers=admin,
        params={"wait": 5},
        json=_body("prob", image=b"not an image"),
    ).json()
    assert failed["status"] == "error"
    # Accept on the task: a failed task stays the JSON task object
    answer = client.get(f"/v0.7/tasks/{failed['id']}", headers={**admin, **NPZ})
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["status"] == "error"
    # by path: 409 with its error
    conflict = client.get(f"/v0.7/tasks/{failed['id']}/tensors.npz", headers=admin)
    assert conflict.status_code == 409 and "failed" in conflict.json()["error"]

    deployment = client.get(f"/v0.7/networks/{network}", headers=admin).json()["task_id"]
    gone = client.get(f"/v0.7/tasks/{deployment}/tensors.npz", headers=admin)
    assert gone.status_code == 404 and "not an inference" in gone.json()["error"]

    task = _finished(client, admin, network, _body("prob"))
    unknown = client.get(f"/v0.7/tasks/{task['id']}/tensors/pool9.npy", headers=admin)
    assert unknown.status_code == 404 and "prob" in unknown.json()["error"]
    foreign = client.get(f"/v0.7/tasks/{task['id']}/tensors.npz", headers=other)
    assert foreign.status_code == 404


def test_decoded_task_data_keeps_every_value():
    floats = np.random.default_rng(0).normal(size=(1, 4, 3)).astype(np.float32)
    wide = np.array([[0.1, 1e300]], dtype=np.float64)  # not float32 values: kept float64
    counts = np.array([[3, 1]], dtype=np.int64)
    data = encode_tensors(["f", "w", "c"], {"f": floats, "w": wide, "c": counts})
    decoded = decode_tensors(data)
    assert decoded is not None
    assert [decoded[name].dtype for name in "fwc"] == [np.float32, np.float64, np.int64]
    for name, array in {"f": floats, "w": wide, "c": counts}.items():
        np.testing.assert_array_equal(decoded[name], array)
    assert decode_tensors(b'{"inputs": []}') is None

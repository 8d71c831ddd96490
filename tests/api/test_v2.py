"""``/v2``, the Open Inference Protocol, through the app: the same networks, accounts and
answers as v0.7, JSON and binary bodies, and errors as ``{"error": ...}``. The real
``tritonclient`` talks to a real server in test_v2_tritonclient.py."""

from __future__ import annotations

import base64
import io
import json
import re
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.api.conftest import Client, deploy
from tests.builders import caffe_small_cnn, onnx_small_cnn

LAYERS = ("prob", "conv1", "fc1")


@pytest.fixture(scope="module")
def cnn_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return onnx_small_cnn(tmp_path_factory.mktemp("cnn"), height=8, width=8)


@pytest.fixture
def network(client: Client, admin, cnn_files) -> int:
    return deploy(client, admin, cnn_files, name="cnn")


def _png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (13, 9, 3), dtype=np.uint8)
    return cv2.imencode(".png", pixels)[1].tobytes()


def _v07(client: Client, headers: dict, network: int | str, image: bytes) -> dict[str, np.ndarray]:
    path = f"networks/public/{network}" if isinstance(network, str) else f"networks/{network}"
    source = "data:image/*;base64," + base64.b64encode(image).decode()
    task = client.post(
        f"/v0.7/{path}/inference",
        headers=headers,
        params={"wait": 5},
        json={"inputs": [{"image": {"source": source}}], "output_tensors": list(LAYERS)},
    ).json()
    assert task["status"] == "success", task
    return {
        t["name"]: np.array(t["data"], dtype=np.float32).reshape(t["shape"])
        for t in task["data"]["tensors"]
    }


def _outputs(answer: dict) -> dict[str, np.ndarray]:
    return {
        out["name"]: np.array(out["data"], dtype=np.float32).reshape(out["shape"])
        for out in answer["outputs"]
    }


def _images_body(*images: bytes) -> dict:
    return {
        "inputs": [
            {
                "name": "data",
                "shape": [len(images)],
                "datatype": "BYTES",
                "parameters": {"content_type": "base64"},
                "data": [base64.b64encode(image).decode() for image in images],
            }
        ],
        "outputs": [{"name": name} for name in LAYERS],
    }


def test_health_and_server_metadata(client: Client):
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert "binary_tensor_data" in client.get("/v2").json()["extensions"]


def test_metadata_and_ready(client: Client, admin, network):
    metadata = client.get(f"/v2/models/{network}", headers=admin)
    assert metadata.status_code == 200, metadata.text
    assert metadata.json() == {
        "name": str(network),
        "versions": ["1"],
        "platform": "onnx",
        "inputs": [{"name": "data", "datatype": "FP32", "shape": [-1, 3, 8, 8]}],
        "outputs": [{"name": "prob", "datatype": "FP32", "shape": [-1, 5]}],
    }
    assert client.get(f"/v2/models/{network}/ready", headers=admin).json() == {
        "name": str(network),
        "ready": True,
    }
    assert client.get(f"/v2/models/{network}/versions/1", headers=admin).status_code == 200
    assert client.get(f"/v2/models/{network}/versions/2", headers=admin).status_code == 404


def test_json_infer_with_images_equals_v07(client: Client, admin, network):
    images = [_png(0), _png(1)]
    answer = client.post(f"/v2/models/{network}/infer", headers=admin, json=_images_body(*images))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    outputs = _outputs(answer.json())
    assert list(outputs) == list(LAYERS)
    for name in LAYERS:
        expected = np.concatenate([_v07(client, admin, network, image)[name] for image in images])
        np.testing.assert_array_equal(outputs[name], expected)


def test_fp32_tensors_are_fed_as_they_are(client: Client, admin, network):
    image = _png(2)
    fed = client.post(
        f"/v0.7/networks/{network}/preprocess",
        headers={**admin, "Accept": "application/x-npy"},
        json={
            "inputs": [
                {"image": {"source": "data:image/*;base64," + base64.b64encode(image).decode()}}
            ],
            "output_tensors": ["prob"],
        },
    )
    tensor = np.load(io.BytesIO(fed.content))
    body = {
        "id": "req-7",
        "inputs": [
            {
                "name": "data",
                "shape": list(tensor.shape),
                "datatype": "FP32",
                "data": tensor.tolist(),
            }
        ],
        "outputs": [{"name": name} for name in LAYERS],
    }
    answer = client.post(f"/v2/models/{network}/infer", headers=admin, json=body).json()
    assert answer["id"] == "req-7" and answer["model_name"] == str(network)
    expected = _v07(client, admin, network, image)
    for name, array in _outputs(answer).items():
        np.testing.assert_array_equal(array, expected[name])


def test_binary_request_and_answer(client: Client, admin, network):
    image = _png(3)
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "data",
                    "shape": [1],
                    "datatype": "BYTES",
                    "parameters": {"binary_data_size": len(image) + 4},
                }
            ],
            "outputs": [
                {"name": "conv1", "parameters": {"binary_data": True}},
                {"name": "prob"},
            ],
        }
    ).encode()
    answer = client.post(
        f"/v2/models/{network}/infer",
        headers={**admin, "Inference-Header-Content-Length": str(len(header))},
        content=header + struct.pack("<I", len(image)) + image,
    )
    assert answer.status_code == 200, answer.text
    length = int(answer.headers["inference-header-content-length"])
    document = json.loads(answer.content[:length])
    conv1, prob = document["outputs"]
    assert conv1["parameters"]["binary_data_size"] == len(answer.content) - length
    binary = np.frombuffer(answer.content[length:], "<f4").reshape(conv1["shape"])
    expected = _v07(client, admin, network, image)
    np.testing.assert_array_equal(binary, expected["conv1"])
    np.testing.assert_array_equal(np.array(prob["data"], np.float32), expected["prob"].ravel())


def test_accounts_and_public_networks(client: Client, admin, other, network):
    body = _images_body(_png(4))
    hidden = client.post(f"/v2/models/{network}/infer", headers=other, json=body)
    assert hidden.status_code == 404 and set(hidden.json()) == {"error"}
    assert client.get(f"/v2/models/{network}", headers=other).status_code == 404
    assert client.get(f"/v2/models/{network}").status_code == 401
    client.post(f"/v0.7/networks/{network}/publish", headers=admin, json={"public_id": "cnn-v2"})
    public = client.post("/v2/models/cnn-v2/infer", headers=other, json=body)
    assert public.status_code == 200, public.text
    expected = _v07(client, other, "cnn-v2", _png(4))
    for name, array in _outputs(public.json()).items():
        np.testing.assert_array_equal(array, expected[name])


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"inputs": []}, "inputs"),
        ({"outputs": [{"name": "pool9"}]}, "pool9"),
        ({"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES",
                      "data": ["x"]}]}, "image"),
        ({"inputs": [{"name": "data", "shape": [1], "datatype": "INT8", "data": [1]}]}, "FP32"),
        ({"inputs": [{"name": "data", "shape": [1, 3, 4, 4], "datatype": "FP32",
                      "data": [0.0] * 48}]}, "[-1, 3, 8, 8]"),
        ({"inputs": [{"name": "data", "shape": [2], "datatype": "BYTES", "data": ["a"]}]}, "2"),
        ({"inputs": [{"name": "data", "shape": [1], "datatype": "BYTES",
                      "parameters": {"content_type": "base64"},
                      "data": [base64.b64encode(b"no image").decode()]}]}, "image"),
    ],
)  # fmt: skip
def test_errors_are_protocol_errors(client: Client, admin, network, change, words):
    answer = client.post(
        f"/v2/models/{network}/infer", headers=admin, json={**_images_body(_png(5)), **change}
    )
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["error"]


def test_unknown_paths_and_models(client: Client, admin):
    assert client.get("/v2/models/999999", headers=admin).status_code == 404
    missing = client.get("/v2/nothing", headers=admin)
    assert missing.status_code == 404 and "/v2" in missing.json()["error"]


def test_openapi_describes_each_front_end_in_its_own_tags(client: Client):
    document = client.get("/v0.7/openapi.json").json()
    tags = {
        path: {tag for operation in item.values() for tag in operation["tags"]}
        for path, item in document["paths"].items()
    }
    v2 = "Open Inference Protocol (v2)"
    assert {path for path, found in tags.items() if v2 in found} == {
        path for path in tags if path == "/v2" or path.startswith("/v2/")
    }
    assert {
        "/v2/health/live",
        "/v2/health/ready",
        "/v2/models/{name}",
        "/v2/models/{name}/ready",
        "/v2/models/{name}/infer",
    } <= set(tags)
    assert all(found == {v2} for path, found in tags.items() if path.startswith("/v2"))
    assert {tag["name"] for tag in document["tags"]} >= {"networks", "tasks", v2}
    infer = document["paths"]["/v2/models/{name}/infer"]["post"]
    assert infer["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/InferRequest"
    }
    assert "InferRequest" in document["components"]["schemas"]
    preprocess = document["paths"]["/v0.7/networks/{network_id}/preprocess"]["post"]
    assert "application/x-npz" in preprocess["responses"]["200"]["content"]


def test_a_caffe_network_and_its_layers(client: Client, admin, tmp_path: Path):
    files = caffe_small_cnn(tmp_path / "caffe", height=8, width=8)
    network = deploy(client, admin, files, name="caffe", framework="nv-caffe-0.x-mod")
    metadata = client.get(f"/v2/models/{network}", headers=admin).json()
    assert metadata["platform"] == "nv-caffe-0.x-mod"
    assert metadata["outputs"] == [{"name": "prob", "datatype": "FP32", "shape": [-1, 5]}]
    images = [_png(6), _png(7)]
    answer = client.post(f"/v2/models/{network}/infer", headers=admin, json=_images_body(*images))
    assert answer.status_code == 200, answer.text
    outputs = _outputs(answer.json())
    for name in LAYERS:  # prob, and the layers conv1 and fc1
        expected = np.concatenate([_v07(client, admin, network, image)[name] for image in images])
        np.testing.assert_array_equal(outputs[name], expected)


def _batched_items(client: Client, network: int) -> float:
    """How many requests the network's dynamic batcher ran forward, from /metrics."""
    text = client.get("/metrics").text
    found = re.search(rf'^vulcain_batch_size_sum{{network="{network}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_every_item_runs_through_the_dynamic_batcher(client: Client, admin, network):
    before = _batched_items(client, network)
    images = client.post(
        f"/v2/models/{network}/infer", headers=admin, json=_images_body(_png(8), _png(9))
    )
    assert images.status_code == 200, images.text
    assert _batched_items(client, network) == before + 2
    tensor = {"name": "data", "shape": [3, 3, 8, 8], "datatype": "FP32", "data": [0.0] * 576}
    tensors = client.post(f"/v2/models/{network}/infer", headers=admin, json={"inputs": [tensor]})
    assert tensors.status_code == 200, tensors.text
    assert tensors.json()["outputs"][0]["shape"] == [3, 5]
    assert _batched_items(client, network) == before + 5

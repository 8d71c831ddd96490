"""Triton's own HTTP client (``tritonclient[http]`` from PyPI) against a real
``vulcain serve``: health, metadata, infer with BYTES images and FP32 tensors, binary and
JSON outputs, an intermediate layer, errors; every tensor equal to what v0.7 answers for
the same image."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator

import cv2
import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from tests.builders import onnx_small_cnn
from tests.servers import VulcainServer, vulcain_server

pytestmark = pytest.mark.slow

LAYERS = ("prob", "conv1")
PREPROCESSING = {
    "inputs": [{"tensor_name": "data", "image": {"target_size": "8x8", "color_channels": "RGB"}}]
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VulcainServer]:
    with vulcain_server(tmp_path_factory.mktemp("v2")) as running:
        yield running


@pytest.fixture(scope="module")
def http(server: VulcainServer) -> Iterator[httpx.Client]:
    with server.http() as client:
        yield client


@pytest.fixture(scope="module")
def network(http: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> str:
    files = onnx_small_cnn(tmp_path_factory.mktemp("cnn"), height=8, width=8)
    created = http.post(
        "/networks",
        data={"name": "cnn", "framework": "onnx", "preprocessing": json.dumps(PREPROCESSING)},
        files={"model.onnx": files["model.onnx"].read_bytes()},
    ).json()
    deployed = http.get(f"/tasks/{created['task_id']}", params={"wait": 60}).json()
    assert deployed["status"] == "success", deployed
    return str(created["id"])


@pytest.fixture(scope="module")
def triton_client(server: VulcainServer) -> Iterator[triton.InferenceServerClient]:
    client = triton.InferenceServerClient(url=server.url.removeprefix("http://"))
    yield client
    client.close()


@pytest.fixture
def auth(server: VulcainServer) -> dict[str, str]:
    """The headers of a call; tritonclient adds its own to the dict it is given, so each
    infer call gets a copy."""
    return {"X-API-KEY": server.api_key}


def _png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    return cv2.imencode(".png", pixels)[1].tobytes()


def _v07(http: httpx.Client, network: str, image: bytes) -> dict[str, np.ndarray]:
    source = "data:image/*;base64," + base64.b64encode(image).decode()
    body = {"inputs": [{"image": {"source": source}}], "output_tensors": list(LAYERS)}
    task = http.post(f"/networks/{network}/inference", params={"wait": 30}, json=body).json()
    assert task["status"] == "success", task
    return {
        t["name"]: np.array(t["data"], dtype=np.float32).reshape(t["shape"])
        for t in task["data"]["tensors"]
    }


def _outputs(binary: bool) -> list[triton.InferRequestedOutput]:
    return [triton.InferRequestedOutput(name, binary_data=binary) for name in LAYERS]


def test_health_and_metadata(triton_client, auth, network):
    assert triton_client.is_server_live()
    assert triton_client.is_server_ready()
    assert "binary_tensor_data" in triton_client.get_server_metadata()["extensions"]
    assert triton_client.is_model_ready(network, headers=dict(auth))
    metadata = triton_client.get_model_metadata(network, headers=dict(auth))
    assert metadata["inputs"] == [{"name": "data", "datatype": "FP32", "shape": [-1, 3, 8, 8]}]
    assert metadata["outputs"] == [{"name": "prob", "datatype": "FP32", "shape": [-1, 5]}]


@pytest.mark.parametrize("binary", [True, False], ids=["binary-outputs", "json-outputs"])
def test_bytes_images_equal_v07(triton_client, auth, http, network, binary):
    images = [_png(0), _png(1)]
    data = triton.InferInput("data", [len(images)], "BYTES")
    data.set_data_from_numpy(np.array(images, dtype=np.object_), binary_data=True)
    result = triton_client.infer(network, [data], outputs=_outputs(binary), headers=dict(auth))
    expected = [_v07(http, network, image) for image in images]
    for name in LAYERS:
        array = result.as_numpy(name)
        assert array.dtype == np.float32
        np.testing.assert_array_equal(array, np.concatenate([e[name] for e in expected]))
    assert result.get_output("conv1")["shape"] == [2, 4, 8, 8]  # an intermediate layer


@pytest.mark.parametrize("binary", [True, False], ids=["binary-inputs", "json-inputs"])
def test_fp32_tensors_equal_v07(triton_client, auth, http, network, binary):
    image = _png(2)
    source = "data:image/*;base64," + base64.b64encode(image).decode()
    fed = http.post(
        f"/networks/{network}/preprocess",
        headers={"Accept": "application/x-npy"},
        json={"inputs": [{"image": {"source": source}}], "output_tensors": ["prob"]},
    )
    tensor = np.load(io.BytesIO(fed.content))
    data = triton.InferInput("data", list(tensor.shape), "FP32")
    data.set_data_from_numpy(tensor, binary_data=binary)
    result = triton_client.infer(network, [data], outputs=_outputs(True), headers=dict(auth))
    expected = _v07(http, network, image)
    for name in LAYERS:
        np.testing.assert_array_equal(result.as_numpy(name), expected[name])


def test_own_outputs_when_none_asked(triton_client, auth, http, network):
    image = _png(3)
    data = triton.InferInput("data", [1], "BYTES")
    data.set_data_from_numpy(np.array([image], dtype=np.object_))
    result = triton_client.infer(network, [data], headers=dict(auth))
    assert [output["name"] for output in result.get_response()["outputs"]] == ["prob"]
    np.testing.assert_array_equal(result.as_numpy("prob"), _v07(http, network, image)["prob"])


def test_errors_reach_the_client_as_sentences(triton_client, auth, server, network):
    data = triton.InferInput("data", [1], "BYTES")
    data.set_data_from_numpy(np.array([_png(4)], dtype=np.object_))
    unknown = [triton.InferRequestedOutput("pool9")]
    with pytest.raises(InferenceServerException, match="pool9"):
        triton_client.infer(network, [data], outputs=unknown, headers=dict(auth))
    with pytest.raises(InferenceServerException, match="API key"):
        triton_client.infer(network, [data], headers={"X-API-KEY": "wrong"})
    other = server.create_account("stranger")
    with pytest.raises(InferenceServerException, match=f"no network {network}"):
        triton_client.get_model_metadata(network, headers={"X-API-KEY": other})
    assert not triton_client.is_model_ready("no-such-model", headers=dict(auth))

"""End to end through a real ``vulcain serve`` process: each curl example of the spec (with
locally built models), the image source encodings, bad inputs, the size limit, health,
readiness and docs. The spec's Python flow runs with the official client in tests/compat."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from urllib.parse import quote_from_bytes

import cv2
import httpx
import numpy as np
import pytest

from tests.builders import caffe_identity, onnx_identity, onnx_small_cnn
from tests.servers import VulcainServer, vulcain_server
from vulcain.caffe_proto import BlobProto

pytestmark = pytest.mark.slow

MAX_UPLOAD = 1_000_000
SIZE = 8


def _preprocessing(mean_file: str | None = None) -> dict:
    image = {
        "dimension_order": "NCHW",
        "target_size": f"{SIZE}x{SIZE}",
        "resize_type": "SQUASH",
        "color_channels": "BGR",
        "pixel_scaling": 255.0,
        "data_type": "FLOAT32",
    }
    if mean_file:
        image["mean_file"] = mean_file
    return {"inputs": [{"tensor_name": "data", "image": image}], "batched_output": True}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VulcainServer]:
    """One worker, no host allowed for image URLs (loopback ones are refused), a 1 MB limit."""
    with vulcain_server(
        tmp_path_factory.mktemp("server"),
        workers="1",
        fetch_allow_hosts="",
        max_upload_bytes=str(MAX_UPLOAD),
    ) as running:
        yield running


@pytest.fixture(scope="module")
def http(server: VulcainServer) -> Iterator[httpx.Client]:
    headers = {"X-API-KEY": server.api_key}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def image() -> tuple[bytes, np.ndarray]:
    """A PNG whose base64 holds '+' and '/' (so form decoding is exercised), and its pixels
    as OpenCV decodes them (BGR, HWC)."""
    for seed in range(100):
        pixels = np.random.default_rng(seed).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
        png = cv2.imencode(".png", pixels)[1].tobytes()
        encoded = base64.b64encode(png)
        if b"+" in encoded and b"/" in encoded:
            return png, pixels
    raise AssertionError("no test image with '+' in its base64")


def _expected(pixels: np.ndarray, mean: float = 0.0) -> list[float]:
    return (pixels.astype(np.float32).transpose(2, 0, 1)[None] - mean).ravel().tolist()


def _wait(http: httpx.Client, task_id: int) -> dict:
    for _ in range(10):
        task = http.get(f"/v0.7/tasks/{task_id}/", params={"wait": 30}).json()
        if task["status"] != "pending":
            return task
    raise AssertionError(f"task {task_id} still pending")


def _deployed(http: httpx.Client, network: dict) -> dict:
    task = _wait(http, network["task_id"])
    assert task["status"] == "success", task
    return network


def _tensor(task: dict, name: str = "out") -> dict:
    assert task["status"] == "success", task
    (tensor,) = [t for t in task["data"]["tensors"] if t["name"] == name]
    return tensor


@pytest.fixture(scope="module")
def onnx_network(http: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> dict:
    files = onnx_identity(tmp_path_factory.mktemp("onnx"))
    response = http.post(
        "/v0.7/networks",
        data={
            "name": "onnx identity",
            "framework": "onnx",
            "preprocessing": json.dumps(_preprocessing()),
        },
        files={"model.onnx": files["model.onnx"].read_bytes()},
    )
    assert response.status_code == 201, response.text
    return _deployed(http, response.json())


def test_health_ready_and_offline_docs(http):
    assert http.get("/health").json() == {"status": "ok"}
    assert http.get("/ready/").json() == {"status": "ready"}
    page = http.get("/v0.7/docs/")
    assert page.status_code == 200
    assert http.get("/v0.7/docs/static/swagger-ui-bundle.js").status_code == 200
    assert http.get("/v0.7/openapi.json").json()["paths"]


def test_curl_create_example_with_caffe_and_a_binaryproto_mean(http, tmp_path, image):
    """The seed's curl example: JSON string parts, three files, one a mean file."""
    files = caffe_identity(tmp_path, height=SIZE, width=SIZE)
    mean = BlobProto()
    mean.shape.dim.extend([1, 3, SIZE, SIZE])
    mean.data.extend([10.0] * (3 * SIZE * SIZE))
    response = http.post(
        "/v0.7/networks",
        data={
            "name": "my new network",
            "description": "trained with more images",
            "metadata": '{"author": "me", "project": "Go to mars"}',
            "framework": "nv-caffe-0.x-mod",
            "preprocessing": json.dumps(_preprocessing("mean_file_1.binaryproto")),
        },
        files={
            "deploy.prototxt": ("deploy.prototxt", files["deploy.prototxt"].read_bytes()),
            "snapshot.caffemodel": ("x.caffemodel", files["snapshot.caffemodel"].read_bytes()),
            "mean_file_1.binaryproto": ("imagenet_mean.binaryproto", mean.SerializeToString()),
        },
    )
    assert response.status_code == 201, response.text
    network = _deployed(http, response.json())
    assert network["metadata"] == {"author": "me", "project": "Go to mars"}
    png, pixels = image
    source = "data:image/*;base64," + base64.b64encode(png).decode()
    answer = http.post(
        f"/v0.7/networks/{network['id']}/inference",
        json={"inputs": [{"image": {"source": source}}], "output_tensors": ["out"]},
    )
    assert answer.status_code == 200, answer.text
    tensor = _tensor(_wait(http, answer.json()["task_id"]))
    assert tensor["shape"] == tensor["dims"] == [1, 3, SIZE, SIZE]
    assert tensor["data"] == pytest.approx(_expected(pixels, mean=10.0), abs=1e-4)


def test_every_image_source_encoding_gives_the_same_tensor(http, onnx_network, image):
    png, pixels = image
    url = f"/v0.7/networks/{onnx_network['id']}/inference"
    b64 = base64.b64encode(png)
    answers = [
        http.post(
            url,
            json={
                "inputs": [{"image": {"source": "data:image/*;base64," + b64.decode()}}],
                "output_tensors": ["out"],
            },
        ),
        # curl -F inputs[0]image.source=@/tmp/img.jpg -F output_tensors=out
        http.post(
            url, files={"inputs[0]image.source": ("img.png", png)}, data={"output_tensors": "out"}
        ),
        # curl -d inputs[0]image.source="data:image/*%3Bbase64,${BASE64_DATA}" -d output_tensors=out
        http.post(
            url,
            content=b"inputs[0]image.source=data:image/*%3Bbase64," + b64 + b"&output_tensors=out",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        # curl -d inputs[0]image.source="data:image/*%3Bbinary,${FORM_ENCODED_BINARY_DATA}"
        http.post(
            url,
            content=b"inputs[0]image.source=data:image/*%3Bbinary,"
            + quote_from_bytes(png).encode()
            + b"&output_tensors=out",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
    ]
    expected = _expected(pixels)
    for index, answer in enumerate(answers):
        assert answer.status_code == 200, (index, answer.text)
        task = _wait(http, answer.json()["task_id"])
        assert _tensor(task)["data"] == pytest.approx(expected), index


def test_repeated_output_tensors_keep_their_order(http, tmp_path, image):
    files = onnx_small_cnn(tmp_path)
    preprocessing = _preprocessing()
    preprocessing["inputs"][0]["image"]["target_size"] = "16x16"
    created = http.post(
        "/v0.7/networks",
        data={"name": "cnn", "framework": "onnx", "preprocessing": json.dumps(preprocessing)},
        files={"model.onnx": files["model.onnx"].read_bytes()},
    )
    network = _deployed(http, created.json())
    # curl -d inputs[0]image.source=... -d output_tensors=prob -d output_tensors=conv1
    response = http.post(
        f"/v0.7/networks/{network['id']}/inference/",
        content=b"inputs[0]image.source=data:image/*%3Bbase64,"
        + base64.b64encode(image[0])
        + b"&output_tensors=prob&output_tensors=conv1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    task = _wait(http, response.json()["task_id"])
    assert [t["name"] for t in task["data"]["tensors"]] == ["prob", "conv1"]
    prob, conv1 = task["data"]["tensors"]
    assert prob["shape"][0] == conv1["shape"][0] == 1
    assert sum(prob["data"]) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"inputs": [], "output_tensors": ["out"]}, "inputs: must have at least 1 item"),
        (
            {"inputs": [{"image": {"source": "data:image/*;base64,AA=="}}], "output_tensors": []},
            "output_tensors: must have at least 1 item",
        ),
        (
            {
                "inputs": [{"image": {"source": "data:image/*;base64,AA=="}}] * 2,
                "output_tensors": ["out"],
            },
            "inputs",
        ),
        (
            {
                "inputs": [{"image": {"source": "data:image/*;base64,AA=="}}],
                "output_tensors": ["no_such_layer"],
            },
            "no_such_layer",
        ),
        (
            {
                "inputs": [{"image": {"source": "data:image/*;base64,AA=="}}],
                "output_tensors": ["out:0"],
            },
            "Unknown output name 'out:0'",
        ),
    ],
)
def test_inference_checked_at_once_is_a_400(http, onnx_network, body, expected):
    response = http.post(f"/v0.7/networks/{onnx_network['id']}/inference", json=body)
    assert response.status_code == 400, response.text
    assert expected in response.json()["error"]


@pytest.mark.parametrize(
    "source",
    [
        "data:image/*;base64," + base64.b64encode(b"this is not an image").decode(),
        "http://127.0.0.1:9/secret.png",
        "http://169.254.169.254/latest/meta-data",
    ],
)
def test_bad_image_sources_end_in_a_task_error(http, onnx_network, source):
    response = http.post(
        f"/v0.7/networks/{onnx_network['id']}/inference",
        json={"inputs": [{"image": {"source": source}}], "output_tensors": ["out"]},
    )
    if response.status_code == 400:
        assert response.json()["error"]
        return
    assert response.status_code == 200, response.text
    task = _wait(http, response.json()["task_id"])
    assert task["status"] == "error"
    assert task["error"] and "internal" not in task["error"]


def test_retrieve_edit_publish_and_delete_as_the_spec_shows(http, server, tmp_path, image):
    files = onnx_identity(tmp_path)
    created = http.post(
        "/v0.7/networks/",
        data={
            "name": "to edit",
            "framework": "onnx",
            "preprocessing": json.dumps(_preprocessing()),
        },
        files={"model.onnx": files["model.onnx"].read_bytes()},
    ).json()
    _deployed(http, created)
    url = f"/v0.7/networks/{created['id']}"
    # curl .../networks/42 -d '{"name": "new name", "description":"new description"}' -X PATCH
    edited = http.patch(
        url,
        content=b'{"name": "new name", "description":"new description"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["name"], edited.json()["description"]) == ("new name", "new description")
    slug = f"e2e-{created['id']}"
    assert http.post(f"{url}/publish/", json={"public_id": slug}).status_code == 200
    account = httpx.post(
        f"{server.url}/v0.7/networks/public/{slug}/inference",
        headers={"X-API-KEY": server.api_key},
        json={
            "inputs": [
                {"image": {"source": "data:image/*;base64," + base64.b64encode(image[0]).decode()}}
            ],
            "output_tensors": ["out"],
        },
        timeout=30,
    )
    assert account.status_code == 200, account.text
    assert _wait(http, account.json()["task_id"])["status"] == "success"
    deleted = http.delete(url)
    assert (deleted.status_code, deleted.content) == (204, b"")
    after = http.post(
        f"{url}/inference",
        json={
            "inputs": [{"image": {"source": "data:image/*;base64,AA=="}}],
            "output_tensors": ["out"],
        },
    )
    assert after.status_code == 404
    assert http.get(f"/v0.7/networks/public/{slug}").status_code == 404


def test_oversize_upload_is_refused_by_the_real_server(http):
    response = http.post(
        "/v0.7/networks",
        data={"name": "big", "framework": "onnx", "preprocessing": json.dumps(_preprocessing())},
        files={"model.onnx": ("model.onnx", b"\0" * (MAX_UPLOAD + 10_000))},
    )
    assert response.status_code == 413
    assert "VULCAIN_MAX_UPLOAD_BYTES" in response.json()["error"]
    assert http.get("/health").status_code == 200

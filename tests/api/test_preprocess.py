"""The preprocessing dry-run: ``POST .../preprocess`` answers the tensor the network would
be fed, for the caller's networks and the published ones, as JSON or NumPy files, and
never runs the network."""

from __future__ import annotations

import base64
import io
import re

import cv2
import numpy as np
import pytest

from tests.api.conftest import Client, deploy

PREPROCESSING = {
    "inputs": [
        {
            "tensor_name": "data",
            "image": {
                "dimension_order": "NCHW",
                "target_size": "8x6",
                "resize_type": "CROP",
                "color_channels": "RGB",
                "pixel_scaling": 2.0,
            },
        }
    ]
}


def _image(seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (11, 17, 3), dtype=np.uint8)
    return cv2.imencode(".png", pixels)[1].tobytes()


def _body(image: bytes, outputs: tuple[str, ...] = ("out",)) -> dict:
    source = "data:image/*;base64," + base64.b64encode(image).decode()
    return {"inputs": [{"image": {"source": source}}], "output_tensors": list(outputs)}


@pytest.fixture
def network(client: Client, admin, onnx_files) -> int:
    return deploy(client, admin, onnx_files, name="dry", preprocessing=PREPROCESSING)


def _inferred(client: Client, headers: dict, network: int, body: dict) -> np.ndarray:
    """What the identity network outputs: exactly the tensor it was fed."""
    task = client.post(
        f"/v0.7/networks/{network}/inference", headers=headers, params={"wait": 5}, json=body
    ).json()
    (tensor,) = task["data"]["tensors"]
    return np.array(tensor["data"], dtype=np.float32).reshape(tensor["shape"])


def _forward_passes(client: Client, network: int) -> float:
    text = client.get("/metrics").text
    found = re.search(rf'^vulcain_batch_size_count{{network="{network}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_the_npy_file_is_the_tensor_the_network_receives(client: Client, admin, network):
    body = _body(_image())
    fed = client.post(
        f"/v0.7/networks/{network}/preprocess",
        headers={**admin, "Accept": "application/x-npy"},
        json=body,
    )
    assert fed.status_code == 200, fed.text
    assert fed.headers["content-type"] == "application/x-npy"
    tensor = np.load(io.BytesIO(fed.content))
    assert tensor.dtype == np.float32 and tensor.shape == (1, 3, 6, 8)
    np.testing.assert_array_equal(tensor, _inferred(client, admin, network, body))


def test_json_gives_statistics_and_a_png_of_each_channel(client: Client, admin, network):
    body = _body(_image(1))
    fed = client.post(
        f"/v0.7/networks/{network}/preprocess",
        headers={**admin, "Accept": "application/x-npz"},
        json=body,
    )
    assert fed.headers["content-type"] == "application/x-npz"
    tensor = np.load(io.BytesIO(fed.content))["data"]

    answer = client.post(f"/v0.7/networks/{network}/preprocess", headers=admin, json=body)
    assert answer.status_code == 200, answer.text
    (summary,) = answer.json()["inputs"]
    assert summary["name"] == "data"
    assert summary["shape"] == [1, 3, 6, 8] and summary["dtype"] == "float32"
    assert summary["min"] == pytest.approx(float(tensor.min()))
    assert summary["max"] == pytest.approx(float(tensor.max()))
    assert summary["mean"] == pytest.approx(float(tensor.mean()))
    assert len(summary["channels"]) == 3
    for channel, uri in zip(tensor[0], summary["channels"], strict=True):
        prefix, _, payload = uri.partition(",")
        assert prefix == "data:image/png;base64"
        grey = cv2.imdecode(np.frombuffer(base64.b64decode(payload), np.uint8), 0)
        assert grey.shape == (6, 8)
        # the channel stretched from its minimum (black) to its maximum (white)
        assert grey[np.unravel_index(channel.argmin(), channel.shape)] == 0
        assert grey[np.unravel_index(channel.argmax(), channel.shape)] == 255


def test_the_network_does_not_run(client: Client, admin, network):
    before = _forward_passes(client, network)
    for _ in range(3):
        answer = client.post(
            f"/v0.7/networks/{network}/preprocess", headers=admin, json=_body(_image())
        )
        assert answer.status_code == 200, answer.text
    assert _forward_passes(client, network) == before
    _inferred(client, admin, network, _body(_image()))
    assert _forward_passes(client, network) == before + 1


def test_multipart_bodies_as_for_inference(client: Client, admin, network):
    image = _image(2)
    fed = client.post(
        f"/v0.7/networks/{network}/preprocess",
        headers={**admin, "Accept": "application/octet-stream"},
        data={"output_tensors": "out"},
        files={"inputs[0]image.source": ("cat.png", image)},
    )
    assert fed.status_code == 200, fed.text
    expected = _inferred(client, admin, network, _body(image))
    np.testing.assert_array_equal(np.load(io.BytesIO(fed.content)), expected)


def test_public_networks_and_account_isolation(client: Client, admin, other, network):
    body = _body(_image())
    hidden = client.post(f"/v0.7/networks/{network}/preprocess", headers=other, json=body)
    assert hidden.status_code == 404 and "error" in hidden.json()
    published = client.post(
        f"/v0.7/networks/{network}/publish", headers=admin, json={"public_id": "dry-run"}
    )
    assert published.status_code in (200, 201), published.text
    public = client.post(
        "/v0.7/networks/public/dry-run/preprocess",
        headers={**other, "Accept": "application/x-npy"},
        json=body,
    )
    assert public.status_code == 200, public.text
    np.testing.assert_array_equal(
        np.load(io.BytesIO(public.content)), _inferred(client, admin, network, body)
    )
    anonymous = client.post("/v0.7/networks/public/dry-run/preprocess", json=body)
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"inputs": [], "output_tensors": ["out"]}, 400, "inputs"),
        (_body(_image(), ("nope",)), 400, "nope"),
        (_body(b"not an image"), 400, "image"),
        ({**_body(_image()), "inputs": [_body(_image())["inputs"][0]] * 2}, 400, "1 input"),
    ],
)
def test_bad_requests_are_sentences(client: Client, admin, network, body, status, words):
    answer = client.post(f"/v0.7/networks/{network}/preprocess", headers=admin, json=body)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]

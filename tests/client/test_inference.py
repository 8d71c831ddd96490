from __future__ import annotations

import base64
import io

import numpy as np
import pytest

from tests.client.identity import expected_identity
from vulcain.client import ClientError, ImageInput, TaskError

BBOX = {"xmin": 0.25, "ymin": 0.1, "xmax": 0.8, "ymax": 0.95}


@pytest.fixture(scope="module")
def png(image_dir) -> bytes:
    return (image_dir / "image.png").read_bytes()


def _check(result: dict[str, np.ndarray], expected: np.ndarray) -> None:
    assert list(result) == ["out"]
    assert result["out"].dtype == np.float32
    assert result["out"].shape == expected.shape == (1, 3, 6, 8)
    np.testing.assert_allclose(result["out"], expected, atol=1e-3)


def test_from_url(identity_network, image_url, image_bgr):
    result = identity_network.inference(inputs=[ImageInput(image_url)], output_tensors=["out"])
    _check(result, expected_identity(image_bgr))


def test_from_file_object(identity_network, image_dir, image_bgr):
    with (image_dir / "image.png").open("rb") as file:
        result = identity_network.inference(inputs=[ImageInput(file)], output_tensors=["out"])
    _check(result, expected_identity(image_bgr))


def test_from_binary_bytes(identity_network, png, image_bgr):
    result = identity_network.inference(
        inputs=[ImageInput(png, encoding="binary")], output_tensors=["out"]
    )
    _check(result, expected_identity(image_bgr))


def test_from_base64(identity_network, png, image_bgr):
    result = identity_network.inference(
        inputs=[ImageInput(base64.b64encode(png), encoding="base64")], output_tensors=["out"]
    )
    _check(result, expected_identity(image_bgr))


def test_bbox_with_a_url(identity_network, image_url, image_bgr):
    result = identity_network.inference(
        inputs=[ImageInput(image_url, bbox=BBOX)], output_tensors=["out"]
    )
    _check(result, expected_identity(image_bgr, BBOX))


def test_bbox_with_an_uploaded_file(identity_network, png, image_bgr):
    result = identity_network.inference(
        inputs=[ImageInput(io.BytesIO(png), bbox=BBOX)], output_tensors=["out"]
    )
    _check(result, expected_identity(image_bgr, BBOX))


def test_no_inputs_is_a_400_with_an_error_sentence(identity_network):
    with pytest.raises(ClientError) as caught:
        identity_network.inference(inputs=[], output_tensors=["out"])
    assert caught.value.status_code == 400
    assert isinstance(caught.value.body, dict) and caught.value.body["error"]
    assert caught.value.error == caught.value.body["error"]


def test_unknown_tensor_is_a_400_naming_it(identity_network, png):
    with pytest.raises(ClientError) as caught:
        identity_network.inference(
            inputs=[ImageInput(png, encoding="binary")], output_tensors=["no_such_layer"]
        )
    assert caught.value.status_code == 400
    assert "no_such_layer" in caught.value.error


def test_non_image_fails_the_task(identity_network, image_dir):
    junk = (image_dir / "not-an-image.png").read_bytes()
    with pytest.raises(TaskError) as caught:
        identity_network.inference(
            inputs=[ImageInput(junk, encoding="binary")], output_tensors=["out"]
        )
    assert caught.value.task.status == "error"
    assert caught.value.error


def test_public_network_inference_uses_the_slug(client, server, identity_network, png, image_bgr):
    server.publish(identity_network.id, "identity-public")
    public = client.Network.retrieve("identity-public")
    result = public.inference(inputs=[ImageInput(png, encoding="binary")], output_tensors=["out"])
    _check(result, expected_identity(image_bgr))


def test_inference_is_one_request(proxied, proxy, identity_network, png, image_bgr):
    network = proxied.Network.retrieve(identity_network.id)
    proxy.seen.clear()
    result = network.inference(inputs=[ImageInput(png, encoding="binary")], output_tensors=["out"])
    _check(result, expected_identity(image_bgr))
    assert [method for method, _ in proxy.seen] == ["POST"]
    assert "wait=" in proxy.seen[0][1]


def test_inference_waits_for_the_task_of_a_server_answering_its_id_only(
    proxied, proxy, identity_network, png, image_bgr
):
    proxy.ignore_wait = True
    network = proxied.Network.retrieve(identity_network.id)
    proxy.seen.clear()
    result = network.inference(inputs=[ImageInput(png, encoding="binary")], output_tensors=["out"])
    _check(result, expected_identity(image_bgr))
    assert [method for method, _ in proxy.seen][:2] == ["POST", "GET"]


def test_tensors_come_as_a_binary_file_and_equal_the_json_ones(identity_network, png):
    inputs = [ImageInput(png, encoding="binary")]
    task = identity_network.start_inference(inputs=inputs, output_tensors=["out"])
    as_json = task.wait(timeout=30).tensors()
    assert task.data is not None  # the JSON numbers were fetched
    binary = identity_network.start_inference(inputs=inputs, output_tensors=["out"])
    arrays = binary.wait(timeout=30, arrays=True).tensors()
    assert binary.data is None  # the .npz file was, not the JSON
    assert arrays["out"].dtype == np.float32
    np.testing.assert_array_equal(arrays["out"], as_json["out"])
    one_request = identity_network.inference(inputs=inputs, output_tensors=["out"])
    np.testing.assert_array_equal(one_request["out"], as_json["out"])

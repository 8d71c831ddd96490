"""A multipart body cut short is a 400 that stores nothing (it used to create the network
from the parts that did arrive, the last one silently dropped)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.api.conftest import PREPROCESSING, footprint


def _body(model: bytes, extra: bytes = b"") -> tuple[bytes, str]:
    """A create request as a client encodes it, and its content type."""
    request = httpx.Request(
        "POST",
        "http://x/",
        data={"name": "n", "framework": "onnx", "preprocessing": json.dumps(PREPROCESSING)},
        files={
            "model.onnx": ("model.onnx", model),
            **({"mean.npy": ("m", extra)} if extra else {}),
        },
    )
    return request.read(), request.headers["Content-Type"]


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(lambda body, boundary: body[: -len(f"--{boundary}--\r\n")], id="no-closing"),
        pytest.param(lambda body, boundary: body[: -len(f"\r\n--{boundary}--\r\n")], id="no-crlf"),
        pytest.param(lambda body, boundary: body[:-4], id="closing-boundary-cut"),
        pytest.param(lambda body, boundary: body[: len(body) // 2], id="half"),
    ],
)
def test_a_multipart_body_cut_short_is_a_400_and_stores_nothing(
    client, admin, onnx_files, services, cut
):
    body, content_type = _body(onnx_files["model.onnx"].read_bytes())
    boundary = content_type.split("boundary=")[1]
    before = footprint(services)
    response = client.post(
        "/v0.7/networks",
        headers={**admin, "Content-Type": content_type},
        content=cut(body, boundary),
    )
    assert response.status_code == 400, response.text
    assert "closing boundary" in response.json()["error"]
    assert footprint(services) == before
    assert client.get("/v0.7/networks", headers=admin).json()["count"] == 0
    # The same body whole is accepted.
    whole = client.post(
        "/v0.7/networks", headers={**admin, "Content-Type": content_type}, content=body
    )
    assert whole.status_code == 201, whole.text

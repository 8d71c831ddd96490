"""A polygon of more points than VULCAIN_MAX_POLYGON_POINTS is refused with a 400 that
names the limit, whichever way the request is encoded, and leaves no task behind."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from tests.api.conftest import create_onnx
from vulcain.config import Settings

MAX_POINTS = 50


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(
        update={"max_polygon_points": MAX_POINTS, "max_upload_bytes": 64 * 1024 * 1024}
    )


def png() -> bytes:
    ok, encoded = cv2.imencode(".png", np.full((20, 20, 3), 90, np.uint8))
    assert ok
    return encoded.tobytes()


def data_uri() -> str:
    return "data:image/png;base64," + base64.b64encode(png()).decode()


def circle(points: int) -> list[dict[str, float]]:
    angles = np.linspace(0, 2 * np.pi, points, endpoint=False)
    return [{"x": 0.5 + 0.4 * float(np.cos(a)), "y": 0.5 + 0.4 * float(np.sin(a))} for a in angles]


@pytest.mark.parametrize("points", [MAX_POINTS + 1, 100_000])
def test_a_json_polygon_over_the_limit_is_a_400_and_no_task(client, admin, onnx_files, points):
    network = create_onnx(client, admin, onnx_files).json()
    url = f"/v0.7/networks/{network['id']}/inference"
    image = {"source": data_uri(), "polygon": circle(points)}
    refused = client.post(
        url, headers=admin, json={"inputs": [{"image": image}], "output_tensors": ["out"]}
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == (
        f"inputs[0].image.polygon: has {points} points, more than the {MAX_POINTS} allowed "
        "(VULCAIN_MAX_POLYGON_POINTS); send a polygon with fewer points"
    )
    assert client.get("/v0.7/tasks", headers=admin).json()["count"] == 1  # the deployment


def test_a_polygon_at_the_limit_runs(client, admin, onnx_files):
    network = create_onnx(client, admin, onnx_files).json()
    url = f"/v0.7/networks/{network['id']}/inference?wait=5"
    image = {"source": data_uri(), "polygon": circle(MAX_POINTS)}
    answer = client.post(
        url, headers=admin, json={"inputs": [{"image": image}], "output_tensors": ["out"]}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "success", answer.json()


def test_a_flattened_multipart_polygon_over_the_limit_is_a_400(client, admin, onnx_files):
    network = create_onnx(client, admin, onnx_files).json()
    fields = {"output_tensors[0]": "out"}
    for index, point in enumerate(circle(MAX_POINTS + 1)):
        fields[f"inputs[0]image.polygon[{index}]x"] = str(point["x"])
        fields[f"inputs[0]image.polygon[{index}]y"] = str(point["y"])
    refused = client.post(
        f"/v0.7/networks/{network['id']}/inference",
        headers=admin,
        data=fields,
        files={"inputs[0]image.source": ("a.png", png())},
    )
    assert refused.status_code == 400, refused.text
    assert "VULCAIN_MAX_POLYGON_POINTS" in refused.json()["error"]
    assert client.get("/v0.7/tasks", headers=admin).json()["count"] == 1

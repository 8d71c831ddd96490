"""NaN and Infinity: refused in everything a user sends, and written as strings in the
tensors of a task (JSON has neither)."""

from __future__ import annotations

import base64
import json
import math

import cv2
import numpy as np
import pytest

from tests.api.conftest import PREPROCESSING, create_onnx, footprint
from tests.builders import onnx_non_finite
from vulcain.db.models import NetworkRow
from vulcain.errors import BadRequest
from vulcain.schemas import NetworkUpdate
from vulcain.tasks.results import decode_tensors


def _preprocessing(pixel_scaling: object) -> dict:
    image = {**PREPROCESSING["inputs"][0]["image"], "pixel_scaling": pixel_scaling}
    return {**PREPROCESSING, "inputs": [{"tensor_name": "data", "image": image}]}


@pytest.mark.parametrize("pixel_scaling", ["Infinity", "inf", "-inf", "NaN", "1e308", "0"])
def test_pixel_scaling_must_be_finite_and_bounded(
    client, admin, onnx_files, services, pixel_scaling
):
    before = footprint(services)
    model = {"model.onnx": ("model.onnx", onnx_files["model.onnx"].read_bytes())}
    for data in (
        # The value as a string in a JSON part, and as flattened text (what pydantic would
        # read as a float).
        {"preprocessing": json.dumps(_preprocessing(pixel_scaling))},
        {
            "preprocessing.inputs[0]tensor_name": "data",
            "preprocessing.inputs[0]image.target_size": "8x8",
            "preprocessing.inputs[0]image.pixel_scaling": pixel_scaling,
        },
    ):
        response = client.post(
            "/v0.7/networks",
            headers=admin,
            data={"name": "n", "framework": "onnx", **data},
            files=model,
        )
        assert response.status_code == 400, response.text
        assert response.json()["fields"] == {
            "preprocessing.inputs[0].image.pixel_scaling": (
                "must be a finite number greater than 0 and at most 1e+06"
            )
        }
    assert footprint(services) == before


def test_non_finite_json_literals_are_refused_with_a_sentence(client, admin, onnx_files):
    url = f"/v0.7/networks/{create_onnx(client, admin, onnx_files).json()['id']}"
    for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
        for response in (
            client.patch(
                url,
                headers={**admin, "Content-Type": "application/json"},
                content=f'{{"metadata": {{"x": {literal}}}}}'.encode(),
            ),
            client.patch(url, headers=admin, data={"metadata": f'{{"x": [1, {literal}]}}'}),
        ):
            assert response.status_code == 400, response.text
            assert "NaN and Infinity are not JSON numbers" in response.json()["error"]
    assert client.get(url, headers=admin).json()["metadata"] == {}


def test_bbox_and_polygon_refuse_nan(client, admin, onnx_files):
    url = f"/v0.7/networks/{create_onnx(client, admin, onnx_files).json()['id']}/inference"
    source = "https://example.com/a.jpg"
    for field, value in (("bbox.xmin", "NaN"), ("polygon[0]x", "nan")):
        response = client.post(
            url,
            headers=admin,
            data={
                "inputs[0]image.source": source,
                f"inputs[0]image.{field}": value,
                "output_tensors": "out",
            },
        )
        assert response.status_code == 400, response.text


def test_a_caller_of_the_service_cannot_store_nan_metadata(services, client, admin, onnx_files):
    created = create_onnx(client, admin, onnx_files).json()
    account = services.accounts.authenticate(admin["X-API-KEY"], None)
    for bad in ({"x": math.nan}, {"x": [1.0, {"y": -math.inf}]}, {"x": {1, 2}}):
        with pytest.raises(BadRequest, match="metadata"):
            services.networks.update(account, created["id"], NetworkUpdate(metadata=bad))


def test_non_finite_tensor_values_are_written_as_strings(client, admin, tmp_path):
    files = onnx_non_finite(tmp_path)
    created = client.post(
        "/v0.7/networks",
        headers=admin,
        data={"name": "nan", "framework": "onnx", "preprocessing": json.dumps(PREPROCESSING)},
        files={"model.onnx": ("model.onnx", files["model.onnx"].read_bytes())},
    ).json()
    deployed = client.get(f"/v0.7/tasks/{created['task_id']}?wait=5", headers=admin).json()
    assert deployed["status"] == "success", deployed
    pixels = np.zeros((8, 8, 3), np.uint8)
    pixels[:, 4:] = 255  # the right half white: +Infinity; the left half black: NaN
    source = "data:image/*;base64," + base64.b64encode(cv2.imencode(".png", pixels)[1]).decode()
    body = {"inputs": [{"image": {"source": source}}], "output_tensors": ["out", "neg"]}
    started = client.post(
        f"/v0.7/networks/{created['id']}/inference?wait=5", headers=admin, json=body
    )
    assert started.status_code == 200, started.text
    task = started.json()
    assert task["status"] == "success", task
    out, neg = task["data"]["tensors"]
    assert set(out["data"]) == {"NaN", "Infinity"}
    assert set(neg["data"]) == {"NaN", "-Infinity"}
    # Read back, each string is the value it stands for.
    tensors = decode_tensors(json.dumps(task["data"]).encode())
    assert tensors is not None
    expected = np.where(pixels.transpose(2, 0, 1)[None] > 0, np.inf, np.nan)
    np.testing.assert_array_equal(tensors["out"], expected)
    np.testing.assert_array_equal(tensors["neg"], -expected)
    stored = client.get(f"/v0.7/tasks/{task['id']}", headers=admin).json()
    assert stored["data"] == task["data"]


def test_a_pixel_scaling_stored_before_the_bound_is_still_read(client, admin, onnx_files, services):
    created = create_onnx(client, admin, onnx_files).json()
    with services.db.session() as session:
        row = session.get(NetworkRow, created["id"])
        row.preprocessing = _preprocessing(1e308)
    response = client.get(f"/v0.7/networks/{created['id']}", headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["preprocessing"]["inputs"][0]["image"]["pixel_scaling"] == 1e308

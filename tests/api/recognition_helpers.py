"""Networks, specs and versions for the recognition API tests, created over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tests.api.conftest import Client
from tests.api.conftest import deploy as deploy_network

API = "/v0.7"
SIDE = 16
"""Target size of the test networks' single input (SQUASH)."""


def preprocessing(target: str = f"{SIDE}x{SIDE}", resize_type: str = "SQUASH") -> dict[str, Any]:
    return {
        "inputs": [
            {
                "tensor_name": "data",
                "image": {
                    "dimension_order": "NCHW",
                    "target_size": target,
                    "resize_type": resize_type,
                    "color_channels": "BGR",
                    "pixel_scaling": 255.0,
                    "data_type": "FLOAT32",
                },
            }
        ],
        "batched_output": True,
    }


def deploy(
    client: Client,
    headers: dict[str, str],
    files: dict[str, Path],
    name: str = "net",
    prep: dict[str, Any] | None = None,
) -> int:
    """Create an ONNX network with this module's preprocessing and wait for its deployment."""
    return deploy_network(client, headers, files, name=name, preprocessing=prep or preprocessing())


def labels(*names: str, first_id: int = 0) -> list[dict[str, Any]]:
    return [{"id": first_id + index, "name": name} for index, name in enumerate(names)]


def create_spec(
    client: Client,
    headers: dict[str, str],
    label_list: list[dict[str, Any]],
    roi: str = "NONE",
    *,
    exclusive: bool = False,
    name: str = "spec",
) -> dict[str, Any]:
    body = {
        "name": name,
        "outputs": [{"labels": {"labels": label_list, "exclusive": exclusive, "roi": roi}}],
    }
    answer = client.post(f"{API}/recognition/specs", headers=headers, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def create_version(
    client: Client,
    headers: dict[str, str],
    spec_id: int,
    network_id: int | str,
    post_processing: dict[str, Any],
) -> dict[str, Any]:
    body = {"spec_id": spec_id, "network_id": network_id, "post_processings": [post_processing]}
    answer = client.post(f"{API}/recognition/versions", headers=headers, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def png(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def recognise(
    client: Client, headers: dict[str, str], path: str, image: np.ndarray, **body: Any
) -> dict[str, Any]:
    """Infer on ``path`` (``specs/3``, ``versions/4``, ``public/slug``) with one image sent
    as a multipart file; the finished task."""
    form = {key: str(value) for key, value in body.items()}
    answer = client.post(
        f"{API}/recognition/{path}/inference?wait=5",
        headers=headers,
        data=form,
        files={"inputs[0]image.source": ("image.png", png(image), "image/png")},
    )
    assert answer.status_code == 200, answer.text
    task = answer.json()
    assert task["status"] != "pending", task
    return task

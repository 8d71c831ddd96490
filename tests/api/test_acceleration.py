"""Through the API: a Caffe network deploys onto onnxruntime, its task says so, inference
answers OpenCV's tensors within tolerance, and the decision holds after a restart; a
network with a layer that has no ONNX form stays on OpenCV and its task says why."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import anyio.from_thread
import cv2
import httpx
import numpy as np
from sqlalchemy import select

from tests import builders
from tests.api.conftest import ADMIN_KEY, BASE, Client
from vulcain.accelerate.compare import Agreement
from vulcain.api.app import create_app
from vulcain.config import Settings
from vulcain.db.models import NetworkFileRow
from vulcain.frameworks import CONVERTED_FILE
from vulcain.runtimes import load_runtime
from vulcain.services import Services

HEADERS = {"X-API-KEY": ADMIN_KEY}


def _preprocessing(size: str) -> str:
    image = {"target_size": size, "pixel_scaling": 255.0}
    return json.dumps({"inputs": [{"tensor_name": "data", "image": image}], "batched_output": True})


def _deploy(client: Client, files: dict[str, Path], size: str) -> dict:
    created = client.post(
        "/v0.7/networks",
        headers=HEADERS,
        data={
            "name": "caffe",
            "framework": "nv-caffe-0.x-mod",
            "preprocessing": _preprocessing(size),
        },
        files={name: (name, path.read_bytes()) for name, path in files.items()},
    )
    assert created.status_code == 201, created.text
    network = created.json()
    task = client.get(f"/v0.7/tasks/{network['task_id']}", headers=HEADERS, params={"wait": 60})
    assert task.json()["status"] == "success", task.text
    return {"network": network, "task": task.json()}


def _infer(client: Client, network_id: int, image: np.ndarray, outputs: list[str]) -> dict:
    source = "data:image/*;base64," + base64.b64encode(cv2.imencode(".png", image)[1]).decode()
    answer = client.post(
        f"/v0.7/networks/{network_id}/inference",
        headers=HEADERS,
        params={"wait": 30},
        json={"inputs": [{"image": {"source": source}}], "output_tensors": outputs},
    )
    assert answer.status_code in (200, 201), answer.text
    tensors = answer.json()["data"]["tensors"]
    return {t["name"]: np.array(t["data"], np.float32).reshape(t["shape"]) for t in tensors}


def _opencv(files: dict[str, Path], image: np.ndarray, outputs: list[str]) -> dict:
    batch = (image.astype(np.float32) * (255.0 / 255.0)).transpose(2, 0, 1)[None]
    return load_runtime("nv-caffe-0.x-mod", files["deploy.prototxt"].parent).forward(
        {"data": np.ascontiguousarray(batch)}, outputs
    )


def _restarted(settings: Settings) -> tuple[Services, Client, object]:
    services = Services(settings)
    services.start()
    portal_cm = anyio.from_thread.start_blocking_portal()
    portal = portal_cm.__enter__()
    app = create_app(settings, services)
    async_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
    return services, Client(portal, async_client), (portal_cm, portal, async_client)


def test_caffe_deploys_onto_onnxruntime_and_stays_there_after_a_restart(
    client: Client, services: Services, api_settings: Settings, tmp_path: Path
):
    files = builders.caffe_small_cnn(tmp_path / "cnn")
    deployed = _deploy(client, files, "16x16")
    data = deployed["task"]["data"]
    assert data["runtime"] == "onnxruntime" and data["reference_copies"] >= 1
    acceleration = data["acceleration"]
    assert acceleration["converted"] is True and acceleration["reason"] is None
    assert acceleration["reference_runtime"] == "opencv-dnn"
    assert 0 <= acceleration["max_abs_difference"] < 0.1
    assert set(acceleration["resident_memory_mb"]) == {"opencv-dnn", "onnxruntime"}
    network_id = deployed["network"]["id"]
    with services.db.session() as session:
        names = session.scalars(
            select(NetworkFileRow.name).where(NetworkFileRow.network_id == network_id)
        ).all()
    assert CONVERTED_FILE in names
    image = np.random.default_rng(5).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    wanted = ["prob", "pool1"]
    Agreement().check(_opencv(files, image, wanted), _infer(client, network_id, image, wanted))
    services.close()

    again, restarted, (portal_cm, portal, async_client) = _restarted(api_settings)
    try:
        Agreement().check(
            _opencv(files, image, wanted), _infer(restarted, network_id, image, wanted)
        )
        loaded = again.engine._models._models[network_id]
        assert loaded.runtime.engine == "onnxruntime" and len(loaded.runtimes) == 1
    finally:
        portal.call(async_client.aclose)
        portal_cm.__exit__(None, None, None)
        again.close()


def test_a_layer_without_onnx_form_stays_on_opencv_and_says_why(client: Client, tmp_path: Path):
    files = builders.caffe_proposal_net(tmp_path / "proposal")
    data = _deploy(client, files, "64x64")["task"]["data"]
    assert data["runtime"] == "opencv-dnn"
    assert data["acceleration"]["converted"] is False
    assert data["acceleration"]["reason"] == "layer `proposal` (type Python) has no ONNX form"

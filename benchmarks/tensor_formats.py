"""A 1x1024x14x14 float32 output (a ResNet stage's feature map) fetched as JSON numbers
and as a NumPy file, from a real ``vulcain serve``.

Run from the repository root:

    .venv/bin/python benchmarks/tensor_formats.py [--repeats 30]

One finished inference task on an ONNX network whose output ``features`` is a 1x1 convolution
of its 14x14 input to 1024 channels; then, alternately, ``GET /v0.7/tasks/{id}`` as JSON
(turned into a float32 array as a client does: parse, ``numpy.asarray``, reshape) and with
``Accept: application/x-npz`` (``numpy.load``). Reported: the answer's size and the median
time from request to array, and their ratios. Both arrays are checked equal first.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import onnx
from _server import ServerProcess
from onnx import TensorProto, helper, numpy_helper

CHANNELS, SIDE = 1024, 14
PREPROCESSING = {"inputs": [{"tensor_name": "data", "image": {"target_size": f"{SIDE}x{SIDE}"}}]}


def feature_map_network(folder: Path) -> Path:
    """``features`` [N, 1024, 14, 14]: a 1x1 convolution of ``data`` [N, 3, 14, 14]."""
    weights = np.random.default_rng(0).normal(size=(CHANNELS, 3, 1, 1)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["data", "w"], ["features"], name="features")],
        "feature_map",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, SIDE, SIDE])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", CHANNELS, SIDE, SIDE])],
        initializer=[numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = folder / "model.onnx"
    onnx.save(model, str(path))
    return path


def finished_task(http: httpx.Client, model: Path) -> int:
    created = http.post(
        "/networks",
        data={"name": "features", "framework": "onnx", "preprocessing": json.dumps(PREPROCESSING)},
        files={"model.onnx": model.read_bytes()},
    ).json()
    deployed = http.get(f"/tasks/{created['task_id']}", params={"wait": 120}).json()
    assert deployed["status"] == "success", deployed
    pixels = np.random.default_rng(1).integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)
    image = cv2.imencode(".png", pixels)[1].tobytes()
    task = http.post(
        f"/networks/{created['id']}/inference",
        params={"wait": 60},
        data={"output_tensors": "features"},
        files={"inputs[0]image.source": ("image.png", image)},
    ).json()
    assert task["status"] == "success", task
    return int(task["id"])


def as_json(http: httpx.Client, task_id: int) -> tuple[np.ndarray, int]:
    response = http.get(f"/tasks/{task_id}")
    (tensor,) = response.json()["data"]["tensors"]
    array = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
    return array, len(response.content)


def as_npz(http: httpx.Client, task_id: int) -> tuple[np.ndarray, int]:
    response = http.get(f"/tasks/{task_id}", headers={"Accept": "application/x-npz"})
    with np.load(io.BytesIO(response.content)) as archive:
        return archive["features"], len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    server = ServerProcess({"VULCAIN_WORKERS": "1"})
    try:
        server.wait_ready()
        headers = {"X-API-KEY": server.api_key}
        with (
            tempfile.TemporaryDirectory() as folder,
            httpx.Client(base_url=server.url + "/v0.7", headers=headers, timeout=120) as http,
        ):
            task_id = finished_task(http, feature_map_network(Path(folder)))
            reference, _ = as_json(http, task_id)
            binary, _ = as_npz(http, task_id)
            np.testing.assert_array_equal(binary, reference)
            times: dict[str, list[float]] = {"json": [], "npz": []}
            sizes: dict[str, int] = {}
            for _ in range(args.repeats):
                for name, fetch in (("json", as_json), ("npz", as_npz)):
                    started = time.perf_counter()
                    _, sizes[name] = fetch(http, task_id)
                    times[name].append((time.perf_counter() - started) * 1000)
    finally:
        server.stop()
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"1x{CHANNELS}x{SIDE}x{SIDE} float32, GET /v0.7/tasks/{{id}} to a numpy array")
    print(f"(median of {args.repeats} each, on {sys.platform}, loopback):")
    for name in ("json", "npz"):
        print(f"  {name:5s} {sizes[name] / 1e6:7.2f} MB  {median[name]:8.1f} ms")
    print(
        f"  npz is {sizes['json'] / sizes['npz']:.1f}x smaller and "
        f"{median['json'] / median['npz']:.1f}x faster "
        f"({median['json'] - median['npz']:.1f} ms saved per tensor)"
    )


if __name__ == "__main__":
    main()

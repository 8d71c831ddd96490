"""Write a small ONNX network, its mean file and a test image, to try Vulcain end to end.

    .venv/bin/python docs/example_model.py /tmp/vulcain-example

writes ``model.onnx`` (input ``data`` 1x3x64x64 NCHW; layers ``conv1``, ``relu1``,
``pool1``, ``fc1``, ``prob``), ``mean.npy`` (one value per channel, laid out (3, 1, 1)
for NCHW), ``preprocessing.json`` and ``cat.jpg``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CLASSES = 10


def build_model(seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    weights = [
        numpy_helper.from_array(rng.normal(0, 0.1, (8, 3, 3, 3)).astype(np.float32), "conv1_w"),
        numpy_helper.from_array(np.zeros(8, np.float32), "conv1_b"),
        numpy_helper.from_array(rng.normal(0, 0.1, (8, CLASSES)).astype(np.float32), "fc1_w"),
        numpy_helper.from_array(np.zeros(CLASSES, np.float32), "fc1_b"),
    ]
    nodes = [
        helper.make_node(
            "Conv", ["data", "conv1_w", "conv1_b"], ["conv1"], name="conv1", pads=[1, 1, 1, 1]
        ),
        helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
        helper.make_node("GlobalAveragePool", ["relu1"], ["pool1"], name="pool1"),
        helper.make_node("Flatten", ["pool1"], ["flat"], name="flat"),
        helper.make_node("Gemm", ["flat", "fc1_w", "fc1_b"], ["fc1"], name="fc1"),
        helper.make_node("Softmax", ["fc1"], ["prob"], name="prob", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "example",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 64, 64])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", CLASSES])],
        initializer=weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


PREPROCESSING = {
    "inputs": [
        {
            "tensor_name": "data",
            "image": {
                "dimension_order": "NCHW",
                "target_size": "64x64",
                "resize_type": "SQUASH",
                "mean_file": "mean.npy",
                "color_channels": "BGR",
                "pixel_scaling": 255.0,
                "data_type": "FLOAT32",
            },
        }
    ],
    "batched_output": True,
}


def main(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    onnx.save(build_model(), dest / "model.onnx")
    np.save(dest / "mean.npy", np.array([104, 117, 123], np.float32).reshape(3, 1, 1))
    (dest / "preprocessing.json").write_text(json.dumps(PREPROCESSING, indent=2) + "\n")
    y, x = np.mgrid[0:240, 0:320]
    image = np.stack([x % 256, y % 256, (x + y) % 256], axis=-1).astype(np.uint8)
    cv2.imwrite(str(dest / "cat.jpg"), image)
    print(f"wrote model.onnx, mean.npy, preprocessing.json and cat.jpg to {dest}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "vulcain-example"))

"""What the serving benchmark feeds: synthetic JPEG photos and a near-free ONNX network."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper


def make_jpegs(count: int, width: int, height: int, quality: int = 90) -> list[bytes]:
    """Photo-like JPEGs (smooth waves plus noise, so they compress like photos)."""
    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    jpegs = []
    for index in range(count):
        waves = np.stack(
            [
                127 + 100 * np.sin(xs / (17 + index) + ys / 29),
                127 + 100 * np.cos(ys / (11 + index)),
                127 + 100 * np.sin((xs + ys) / 41),
            ],
            axis=2,
        )
        noise = rng.normal(0, 20, (height, width, 3))
        image = np.clip(waves + noise, 0, 255).astype(np.uint8)
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("OpenCV could not encode a JPEG")
        jpegs.append(encoded.tobytes())
    return jpegs


def build_identity_onnx(dest: Path) -> Path:
    """``model.onnx``: input ``data`` [N, 3, H, W], output ``out`` = ``data`` (one Identity)."""
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / "model.onnx"
    graph = helper.make_graph(
        [helper.make_node("Identity", ["data"], ["out"], name="out")],
        "identity",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 3, "H", "W"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


__all__ = ["build_identity_onnx", "make_jpegs"]

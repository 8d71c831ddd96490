"""Networks whose input is an integer tensor (a TensorFlow ``uint8`` image placeholder, an
ONNX ``int32`` input): the preprocessed float32 values are rounded to the nearest integer
and saturated to the type's range, never wrapped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto

from tests import builders
from tests.inference.test_engine import (
    engine_for,
    image_spec,
    make_network,
    png,
    reference,
    request,
    sample_image,
    tensor_of,
)

__all__ = ["engine_for"]  # the fixture, shared with test_engine

# Per-channel means: after subtraction, low pixels go negative and, scaled by 2, high ones
# pass 255.
MEAN = np.array([100.0, 30.25, 0.5], np.float32).reshape(3, 1, 1)


def saturated(values: np.ndarray, dtype: type) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.clip(np.rint(values), info.min, info.max)


CASES = {
    "onnx-uint8": (builders.onnx_integer_input, "onnx", "data", "NCHW", np.uint8),
    "onnx-int32": (
        lambda dest: builders.onnx_integer_input(dest, elem_type=TensorProto.INT32),
        "onnx",
        "data",
        "NCHW",
        np.int32,
    ),
    "tensorflow-uint8": (builders.tf_integer_input, "tensorflow-1.x", "input", "NHWC", np.uint8),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_integer_input_gets_rounded_saturated_values(tmp_path: Path, engine_for, case: str):
    build, framework, tensor, order, dtype = CASES[case]
    files = build(tmp_path / "m")
    mean = MEAN if order == "NCHW" else MEAN.reshape(1, 1, 3)
    np.save(tmp_path / "mean.npy", mean, allow_pickle=False)
    files["mean.npy"] = tmp_path / "mean.npy"
    spec = image_spec(dimension_order=order, pixel_scaling=510.0, mean_file="mean.npy")
    network, blobs = make_network(
        files, framework, {"inputs": [{"tensor_name": tensor, "image": spec}]}
    )
    engine = engine_for(blobs)
    deployed = engine.deploy(network)
    assert [item.dtype for item in deployed.inputs] == [np.dtype(dtype).name]
    image = sample_image()
    fed = tensor_of(engine.infer(network, request(png(image), outputs=[_output(framework)])))
    values = reference(image, spec, MEAN.reshape(1, 1, 3))  # subtracted before the layout
    assert values.min() < -50 and values.max() > 400  # both ends are exercised
    expected = saturated(values, dtype)
    np.testing.assert_array_equal(fed, expected)
    if dtype is np.uint8:  # nothing wrapped: a negative value is 0, not 256 - x
        assert fed[values < 0].max() == 0 and fed[values > 255].min() == 255


def _output(framework: str) -> str:
    return "out" if framework == "onnx" else "output"

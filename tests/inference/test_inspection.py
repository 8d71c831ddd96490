"""The description of a fed tensor: one height x width plane per channel, whatever the
layout, and its statistics."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vulcain.inference.inspection import channel_planes, describe_tensor

# (batch, channel, height, width) moved into each layout
_LAYOUTS = {
    "NCHW": (0, 1, 2, 3),
    "NCWH": (0, 1, 3, 2),
    "NHWC": (0, 2, 3, 1),
    "NWHC": (0, 3, 2, 1),
}


@pytest.mark.parametrize("order", sorted(_LAYOUTS))
def test_planes_are_height_by_width_in_channel_order(order: str):
    nchw = np.random.default_rng(0).normal(size=(1, 3, 5, 7)).astype(np.float32)
    tensor = nchw.transpose(_LAYOUTS[order])
    planes = channel_planes(tensor, order)
    assert len(planes) == 3
    for plane, expected in zip(planes, nchw[0], strict=True):
        np.testing.assert_array_equal(plane, expected)


def test_a_tensor_that_is_no_image_has_no_planes():
    assert channel_planes(np.zeros((1, 3), np.float32), None) == []
    assert describe_tensor(np.array([[4.0, 6.0, 1.0]], np.float32), None)["channels"] == []


def test_statistics_and_a_constant_channel_is_mid_grey():
    tensor = np.zeros((1, 2, 2, 2), np.float32)
    tensor[0, 1] = [[0.0, 1.0], [2.0, 3.0]]
    described = describe_tensor(tensor, "NCHW")
    assert described["shape"] == [1, 2, 2, 2] and described["dtype"] == "float32"
    assert (described["min"], described["max"], described["mean"]) == (0.0, 3.0, 0.75)
    flat, ramp = (cv2.imdecode(np.frombuffer(png, np.uint8), 0) for png in described["channels"])
    assert (flat == 128).all()
    np.testing.assert_array_equal(ramp, [[0, 85], [170, 255]])

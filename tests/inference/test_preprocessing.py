"""Preprocessing against an independent numpy + OpenCV reference of docs/preprocessing.md."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from vulcain.errors import PreprocessingError
from vulcain.inference.preprocessing import preprocess
from vulcain.schemas import ImagePreprocessing

ORDERS = ["NCHW", "NCWH", "NHWC", "NWHC"]
RESIZES = ["SQUASH", "CROP", "FILL", "NETWORK"]


def reference(image, *, order, resize, target, color="BGR", scaling=255.0, mean=None):
    """docs/preprocessing.md, steps 3-7, written out step by step."""
    if color == "L":
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[:, :, None]
    elif color == "RGB":
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    h, w = image.shape[:2]
    channels = image.shape[2]

    def resize_to(img, width, height):
        out = cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)
        return out.reshape(height, width, channels)

    def side(length, scale):
        return math.floor(length * scale + 0.5)

    big_w, big_h = (target, target) if isinstance(target, int) else target
    if resize == "SQUASH":
        out = resize_to(image, big_w, big_h)
        scale = big_h / h
    elif resize == "CROP":
        scale = max(big_w / w, big_h / h)
        new_w, new_h = side(w, scale), side(h, scale)
        scaled = resize_to(image, new_w, new_h)
        x0, y0 = math.floor((new_w - big_w) / 2), math.floor((new_h - big_h) / 2)
        out = scaled[y0 : y0 + big_h, x0 : x0 + big_w]
    elif resize == "FILL":
        scale = min(big_w / w, big_h / h)
        new_w, new_h = side(w, scale), side(h, scale)
        out = np.full((big_h, big_w, channels), 255, np.uint8)
        x0, y0 = math.floor((big_w - new_w) / 2), math.floor((big_h - new_h) / 2)
        out[y0 : y0 + new_h, x0 : x0 + new_w] = resize_to(image, new_w, new_h)
    else:
        scale = target / max(w, h) if isinstance(target, int) else min(big_w / w, big_h / h)
        out = resize_to(image, side(w, scale), side(h, scale))
    values = out.astype(np.float32) * np.float32(scaling / 255)
    tensor = np.einsum(f"hwc->{order[1:].lower()}", values)
    if mean is not None:
        tensor = tensor - mean
    return tensor, (float(out.shape[0]), float(out.shape[1]), scale)


def spec(**fields) -> ImagePreprocessing:
    return ImagePreprocessing(**fields)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("resize", RESIZES)
@pytest.mark.parametrize("target", ["40x30", "25", "64x90"])
def test_every_order_resize_and_target_matches_the_reference(make_image, order, resize, target):
    image = make_image(57, 83)
    prepared = preprocess(
        image, spec(dimension_order=order, resize_type=resize, target_size=target)
    )
    parsed = spec(target_size=target).target
    expected, im_info = reference(image, order=order, resize=resize, target=parsed)
    assert prepared.tensor.dtype == np.float32
    np.testing.assert_array_equal(prepared.tensor, expected)
    assert prepared.im_info == pytest.approx(im_info)


@pytest.mark.parametrize("color", ["RGB", "BGR", "L"])
@pytest.mark.parametrize("order", ["NCHW", "NWHC"])
def test_colour_channels_match_the_reference(make_image, color, order):
    image = make_image(41, 29, seed=1)
    prepared = preprocess(
        image, spec(color_channels=color, dimension_order=order, target_size="23x31")
    )
    expected, _ = reference(image, order=order, resize="SQUASH", target=(23, 31), color=color)
    np.testing.assert_array_equal(prepared.tensor, expected)
    assert prepared.tensor.shape[order[1:].index("C")] == (1 if color == "L" else 3)


def test_rgb_swaps_the_channels_of_bgr(make_image):
    image = make_image(20, 20)
    bgr = preprocess(image, spec(target_size="20", color_channels="BGR")).tensor
    rgb = preprocess(image, spec(target_size="20", color_channels="RGB")).tensor
    np.testing.assert_array_equal(rgb, bgr[::-1])


@pytest.mark.parametrize("scaling", [1.0, 2.0, 255.0, 0.7])
def test_pixel_scaling_matches_the_reference(make_image, scaling):
    image = make_image(30, 40)
    prepared = preprocess(image, spec(target_size="30x20", pixel_scaling=scaling))
    expected, _ = reference(image, order="NCHW", resize="SQUASH", target=(30, 20), scaling=scaling)
    np.testing.assert_allclose(prepared.tensor, expected, rtol=1e-6, atol=0)
    assert prepared.tensor.max() <= scaling * (1 + 1e-6)


def test_known_crop_and_fill_geometry():
    image = np.zeros((50, 100, 3), np.uint8)
    image[:, :, 1] = np.arange(100, dtype=np.uint8)[None, :]
    crop = preprocess(image, spec(target_size="40x40", resize_type="CROP", dimension_order="NHWC"))
    scaled = cv2.resize(image, (80, 40), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(crop.tensor, scaled[:, 20:60].astype(np.float32))
    fill = preprocess(image, spec(target_size="40x40", resize_type="FILL", dimension_order="NHWC"))
    assert fill.tensor.shape == (40, 40, 3)
    np.testing.assert_array_equal(fill.tensor[:10], 255)
    np.testing.assert_array_equal(fill.tensor[30:], 255)
    small = cv2.resize(image, (40, 20), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(fill.tensor[10:30], small.astype(np.float32))


def test_network_resize_keeps_the_aspect_ratio_and_reports_im_info(make_image):
    image = make_image(60, 150)
    prepared = preprocess(image, spec(target_size="100", resize_type="NETWORK"))
    assert prepared.tensor.shape == (3, 40, 100)
    assert prepared.im_info == pytest.approx((40.0, 100.0, 100 / 150))
    boxed = preprocess(image, spec(target_size="300x80", resize_type="NETWORK"))
    assert boxed.tensor.shape == (3, 80, 200)


@pytest.mark.parametrize("order", ORDERS)
def test_mean_is_subtracted_in_the_network_order(make_image, order):
    image = make_image(33, 47)
    per_channel = np.array([104.0, 117.0, 123.0], np.float32)
    shape = tuple(3 if axis == "C" else 1 for axis in order[1:])
    mean = per_channel.reshape(shape)
    prepared = preprocess(image, spec(dimension_order=order, target_size="21x17"), mean)
    expected, _ = reference(image, order=order, resize="SQUASH", target=(21, 17), mean=mean)
    np.testing.assert_allclose(prepared.tensor, expected, rtol=1e-6)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("resize", ["SQUASH", "NETWORK"])
def test_a_mean_image_of_another_size_is_resized_bilinearly(make_image, order, resize):
    image = make_image(45, 60)
    mean_hwc = np.random.default_rng(5).uniform(0, 255, (26, 34, 3)).astype(np.float32)
    mean = np.einsum(f"hwc->{order[1:].lower()}", mean_hwc).copy()
    prepared = preprocess(
        image, spec(dimension_order=order, resize_type=resize, target_size="32x24"), mean
    )
    out_h, out_w = int(prepared.im_info[0]), int(prepared.im_info[1])
    fitted = cv2.resize(mean_hwc, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    expected_mean = np.einsum(f"hwc->{order[1:].lower()}", fitted)
    expected, _ = reference(image, order=order, resize=resize, target=(32, 24), mean=expected_mean)
    np.testing.assert_allclose(prepared.tensor, expected, rtol=1e-6, atol=1e-4)
    again = preprocess(
        image, spec(dimension_order=order, resize_type=resize, target_size="32x24"), mean
    )
    np.testing.assert_array_equal(again.tensor, prepared.tensor)


def test_a_mean_that_cannot_broadcast_names_both_shapes(make_image):
    with pytest.raises(PreprocessingError, match=r"\(3,\).*\(3, 10, 12\)"):
        preprocess(make_image(20, 20), spec(target_size="12x10"), np.zeros(3, np.float32))


def test_wrong_image_arrays_are_refused():
    with pytest.raises(PreprocessingError, match="H x W x 3"):
        preprocess(np.zeros((4, 4), np.uint8), spec(target_size="2"))

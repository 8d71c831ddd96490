"""bbox, polygon and crop_uniform_background against numpy references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vulcain.errors import ImageError, VulcainError
from vulcain.inference.regions import apply_region
from vulcain.schemas import BoundingBox, Point


def box(xmin, ymin, xmax, ymax) -> BoundingBox:
    return BoundingBox(xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax)


def points(*pairs) -> list[Point]:
    return [Point(x=x, y=y) for x, y in pairs]


@pytest.mark.parametrize(
    "bounds", [(0.15, 0.3, 0.55, 1.0), (0.0, 0.0, 1.0, 1.0), (0.33, 0.01, 0.34, 0.02)]
)
def test_bbox_uses_floor_and_ceil_with_exclusive_ends(make_image, bounds):
    image = make_image(7, 10)
    xmin, ymin, xmax, ymax = bounds
    x0, y0 = math.floor(xmin * 10), math.floor(ymin * 7)
    x1, y1 = math.ceil(xmax * 10), math.ceil(ymax * 7)
    np.testing.assert_array_equal(apply_region(image, bbox=box(*bounds)), image[y0:y1, x0:x1])


def test_known_bbox_pixels(make_image):
    image = make_image(7, 10)
    region = apply_region(image, bbox=box(0.15, 0.3, 0.55, 1.0))
    np.testing.assert_array_equal(region, image[2:7, 1:6])


@pytest.mark.parametrize("bounds", [(0.5, 0.2, 0.5, 0.8), (0.6, 0.2, 0.4, 0.8)])
def test_an_empty_bbox_is_an_image_error(make_image, bounds):
    with pytest.raises(ImageError, match="covers no pixel") as raised:
        apply_region(make_image(10, 10), bbox=box(*bounds))
    assert isinstance(raised.value, VulcainError)


def test_an_axis_aligned_polygon_is_its_bounding_box(make_image):
    image = make_image(50, 100)
    region = apply_region(image, polygon=points((0.1, 0.2), (0.6, 0.2), (0.6, 0.8), (0.1, 0.8)))
    np.testing.assert_array_equal(region, image[10:40, 10:60])


def inside_polygon(xs, ys, vertices):
    """Even-odd rule on points (xs, ys)."""
    inside = np.zeros(xs.shape, bool)
    for (ax, ay), (bx, by) in zip(vertices, np.roll(vertices, -1, axis=0), strict=True):
        crosses = (ay > ys) != (by > ys)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = ax + (ys - ay) * (bx - ax) / (by - ay)
        inside ^= crosses & (xs < x_cross)
    return inside


def distance_to_edges(xs, ys, vertices):
    best = np.full(xs.shape, np.inf)
    for (ax, ay), (bx, by) in zip(vertices, np.roll(vertices, -1, axis=0), strict=True):
        dx, dy = bx - ax, by - ay
        t = np.clip(((xs - ax) * dx + (ys - ay) * dy) / (dx * dx + dy * dy), 0, 1)
        best = np.minimum(best, np.hypot(xs - (ax + t * dx), ys - (ay + t * dy)))
    return best


def test_polygon_crops_to_its_box_and_paints_outside_white(make_image):
    image = make_image(80, 120)
    relative = [(0.1, 0.15), (0.9, 0.3), (0.55, 0.95)]
    region = apply_region(image, polygon=points(*relative))
    x0, y0 = math.floor(0.1 * 120), math.floor(0.15 * 80)
    x1, y1 = math.ceil(0.9 * 120), math.ceil(0.95 * 80)
    assert region.shape == (y1 - y0, x1 - x0, 3)
    vertices = np.array([(x * 120, y * 80) for x, y in relative])
    ys, xs = np.mgrid[y0:y1, x0:x1] + 0.5
    inside = inside_polygon(xs, ys, vertices)
    clear = distance_to_edges(xs, ys, vertices) > 1.0
    crop = image[y0:y1, x0:x1]
    np.testing.assert_array_equal(region[inside & clear], crop[inside & clear])
    assert (region[~inside & clear] == 255).all()
    assert (inside & clear).sum() > 1000
    assert (~inside & clear).sum() > 1000


def bordered(make_image, top, left, bottom, right, colour=(255, 255, 255)):
    content = make_image(20, 30) // 2
    height, width = 20 + top + bottom, 30 + left + right
    image = np.empty((height, width, 3), np.uint8)
    image[:] = colour
    image[top : top + 20, left : left + 30] = content
    return image, content


def test_crop_uniform_background_trims_every_border(make_image):
    image, content = bordered(make_image, 3, 5, 2, 4)
    np.testing.assert_array_equal(apply_region(image, crop_uniform_background=True), content)


def test_crop_uniform_background_tolerates_jpeg_noise_in_the_border(make_image):
    image, content = bordered(make_image, 4, 4, 4, 4)
    noise = np.random.default_rng(0).integers(0, 6, image.shape).astype(np.uint8)
    border = np.ones(image.shape[:2], bool)
    border[4:24, 4:34] = False
    image[border] -= noise[border]
    np.testing.assert_array_equal(apply_region(image, crop_uniform_background=True), content)


def test_a_uniform_image_is_kept_whole():
    image = np.full((10, 12, 3), 7, np.uint8)
    np.testing.assert_array_equal(apply_region(image, crop_uniform_background=True), image)


def test_background_is_trimmed_before_the_bbox_applies(make_image):
    image, content = bordered(make_image, 10, 10, 10, 10, colour=(0, 128, 0))
    region = apply_region(image, crop_uniform_background=True, bbox=box(0.5, 0.5, 1.0, 1.0))
    np.testing.assert_array_equal(region, content[10:, 15:])

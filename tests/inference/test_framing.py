"""Framing against the preprocessing itself: a green rectangle found in the network input,
mapped back, lands where it was drawn in the image, for every resize type and crop."""

from __future__ import annotations

import numpy as np
import pytest

from vulcain.inference.framing import framing
from vulcain.inference.preprocessing import resize_image
from vulcain.inference.regions import locate_region
from vulcain.schemas import BoundingBox, ImagePreprocessing, Point

WIDTH, HEIGHT = 90, 60
RECTANGLE = (40, 20, 70, 44)  # x0, y0, x1, y1 in pixels, ends exclusive


def _image() -> np.ndarray:
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    x0, y0, x1, y1 = RECTANGLE
    image[y0:y1, x0:x1] = (0, 160, 0)  # green: apart from the greys of padding and polygons
    return image


def _found(resized: np.ndarray) -> np.ndarray:
    """The rectangle's box in the resized image, relative to it."""
    bright = resized[..., 1].astype(int) - resized[..., 0] > 60
    rows, cols = np.flatnonzero(bright.any(axis=1)), np.flatnonzero(bright.any(axis=0))
    height, width = bright.shape
    return np.array(
        [cols[0] / width, rows[0] / height, (cols[-1] + 1) / width, (rows[-1] + 1) / height]
    )


@pytest.mark.parametrize("resize_type", ["SQUASH", "CROP", "FILL", "NETWORK"])
@pytest.mark.parametrize(
    "region",
    [
        {},
        {"bbox": BoundingBox(xmin=0.3, ymin=0.1, xmax=0.95, ymax=0.9)},
        {
            "polygon": [
                Point(x=0.35, y=0.2),
                Point(x=0.98, y=0.25),
                Point(x=0.9, y=0.95),
                Point(x=0.3, y=0.9),
            ]
        },
        {"crop_uniform_background": True},
    ],
)
def test_a_rectangle_maps_back_where_it_was_drawn(resize_type, region):
    spec = ImagePreprocessing(target_size="40x32", resize_type=resize_type)
    cropped, box = locate_region(_image(), **region)
    resized, _ = resize_image(cropped, spec)
    frame = framing((WIDTH, HEIGHT), box, spec)
    assert (frame.input_width, frame.input_height) == (resized.shape[1], resized.shape[0])
    mapped = frame.to_image(_found(resized)[np.newaxis])[0]
    x0, y0, x1, y1 = RECTANGLE
    drawn = np.array([x0 / WIDTH, y0 / HEIGHT, x1 / WIDTH, y1 / HEIGHT])
    # Within the blur of resizing: about a pixel of the network input.
    np.testing.assert_allclose(mapped, drawn, atol=1.2 / 32)

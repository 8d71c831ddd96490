"""Step 2 of docs/preprocessing.md: the part of an image a request asks for.

``crop_uniform_background`` trims borders first, then ``bbox`` crops, then ``polygon``
crops to its bounding box and paints what lies outside it white. Relative coordinates
become pixels as ``x0 = floor(xmin * w)``, ``x1 = ceil(xmax * w)`` (exclusive), clipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from vulcain.errors import ImageError
from vulcain.schemas import BoundingBox, Point

OUTSIDE_POLYGON = 255
BACKGROUND_TOLERANCE = 8
"""Largest per-channel difference from the corner colour still counted as background,
so that JPEG noise in a flat border does not stop the trimming."""

_SUBPIXEL_BITS = 8
_BAND_CELLS = 1 << 20
"""Rows times polygon points filled between two looks at the caller's ``check``: the
fill's cost grows with both (and faster than linearly with the points), so a band this
size takes milliseconds with the points a request may send."""

Check = Callable[[], None]
"""Called between steps whose cost a request can inflate; raises to stop the work."""


def _no_check() -> None:
    return None


Box = tuple[int, int, int, int]
"""``(x0, y0, x1, y1)`` in pixels, ends exclusive."""


def apply_region(
    image: np.ndarray,
    *,
    bbox: BoundingBox | None = None,
    polygon: Sequence[Point] | None = None,
    crop_uniform_background: bool = False,
    check: Check = _no_check,
) -> np.ndarray:
    """Return the requested region of an H x W x C image (a view when only cropping).
    ``check`` is called as the polygon is filled, band by band."""
    return locate_region(
        image,
        bbox=bbox,
        polygon=polygon,
        crop_uniform_background=crop_uniform_background,
        check=check,
    )[0]


def locate_region(
    image: np.ndarray,
    *,
    bbox: BoundingBox | None = None,
    polygon: Sequence[Point] | None = None,
    crop_uniform_background: bool = False,
    check: Check = _no_check,
) -> tuple[np.ndarray, Box]:
    """:func:`apply_region`, and where the region lies in ``image``: what maps results on
    the region back to the image (:mod:`vulcain.inference.framing`)."""
    left = top = 0
    if crop_uniform_background:
        x0, y0, x1, y1 = uniform_background_box(image)
        image, left, top = image[y0:y1, x0:x1], x0, y0
    if bbox is not None:
        x0, y0, x1, y1 = _checked_box(image, bbox.xmin, bbox.ymin, bbox.xmax, bbox.ymax, "bbox")
        image, left, top = image[y0:y1, x0:x1], left + x0, top + y0
    if polygon is not None:
        xs = [point.x for point in polygon]
        ys = [point.y for point in polygon]
        if len(polygon) >= 3:
            height, width = image.shape[:2]
            x0, y0, _, _ = pixel_box(height, width, min(xs), min(ys), max(xs), max(ys))
            left, top = left + x0, top + y0
        image = mask_polygon(image, polygon, check)
    height, width = image.shape[:2]
    return image, (left, top, left + width, top + height)


def pixel_box(
    height: int, width: int, xmin: float, ymin: float, xmax: float, ymax: float
) -> tuple[int, int, int, int]:
    """Relative box to clipped pixel bounds ``(x0, y0, x1, y1)``, ends exclusive."""
    x0 = min(max(math.floor(xmin * width), 0), width)
    y0 = min(max(math.floor(ymin * height), 0), height)
    x1 = min(max(math.ceil(xmax * width), 0), width)
    y1 = min(max(math.ceil(ymax * height), 0), height)
    return x0, y0, x1, y1


def crop_box(
    image: np.ndarray, xmin: float, ymin: float, xmax: float, ymax: float, *, what: str
) -> np.ndarray:
    x0, y0, x1, y1 = _checked_box(image, xmin, ymin, xmax, ymax, what)
    return image[y0:y1, x0:x1]


def _checked_box(
    image: np.ndarray, xmin: float, ymin: float, xmax: float, ymax: float, what: str
) -> Box:
    height, width = image.shape[:2]
    x0, y0, x1, y1 = pixel_box(height, width, xmin, ymin, xmax, ymax)
    if x1 <= x0 or y1 <= y0:
        raise ImageError(
            f"the {what} (xmin={xmin}, ymin={ymin}, xmax={xmax}, ymax={ymax}) covers no pixel "
            f"of the {width}x{height} image: it needs xmin < xmax and ymin < ymax."
        )
    return x0, y0, x1, y1


def mask_polygon(
    image: np.ndarray, polygon: Sequence[Point], check: Check = _no_check
) -> np.ndarray:
    """Crop to the polygon's bounding box and paint white every pixel whose centre lies
    outside the polygon. The mask is filled in bands of rows, calling ``check`` before
    each, so that a caller may bound the time a many-sided polygon takes."""
    if len(polygon) < 3:
        raise ImageError(f"a polygon needs at least 3 points, got {len(polygon)}.")
    xs = [point.x for point in polygon]
    ys = [point.y for point in polygon]
    height, width = image.shape[:2]
    x0, y0, _, _ = pixel_box(height, width, min(xs), min(ys), max(xs), max(ys))
    cropped = crop_box(image, min(xs), min(ys), max(xs), max(ys), what="polygon's bounding box")
    # Pixel i covers [i, i + 1) in relative coordinates times the size; OpenCV draws on
    # pixel centres, hence the half-pixel shift.
    one = 1 << _SUBPIXEL_BITS
    vertices = np.array(
        [
            [round((p.x * width - 0.5 - x0) * one), round((p.y * height - 0.5 - y0) * one)]
            for p in polygon
        ],
        dtype=np.int32,
    )
    crop_height, crop_width = cropped.shape[:2]
    mask = np.zeros((crop_height, crop_width), dtype=np.uint8)
    rows = max(1, _BAND_CELLS // len(vertices))
    for top in range(0, mask.shape[0], rows):
        check()
        band = vertices.copy()
        band[:, 1] -= top * one
        cv2.fillPoly(mask[top : top + rows], [band], 255, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
    result = cropped.copy()
    result[mask == 0] = OUTSIDE_POLYGON
    return result


def trim_uniform_background(image: np.ndarray) -> np.ndarray:
    """Remove the border rows and columns whose every pixel is within
    :data:`BACKGROUND_TOLERANCE` of the top-left pixel's colour. An image that is all
    background is returned whole."""
    x0, y0, x1, y1 = uniform_background_box(image)
    return image[y0:y1, x0:x1]


def uniform_background_box(image: np.ndarray) -> Box:
    """The pixels :func:`trim_uniform_background` keeps."""
    height, width = image.shape[:2]
    corner = tuple(float(value) for value in np.atleast_1d(image[0, 0])) + (0.0,) * 3
    # A 4-tuple is a cv::Scalar to OpenCV (one value per channel), which its stubs omit.
    difference = cv2.absdiff(image, corner[:4])  # type: ignore[call-overload]  # see above
    foreground = cv2.threshold(difference, BACKGROUND_TOLERANCE, 1, cv2.THRESH_BINARY)[1]
    flat = foreground.reshape(height, -1)
    rows = np.flatnonzero(cv2.reduce(flat, 1, cv2.REDUCE_MAX))
    if rows.size == 0:
        return 0, 0, width, height
    columns = np.flatnonzero(cv2.reduce(flat, 0, cv2.REDUCE_MAX).reshape(width, -1).max(axis=1))
    return int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1

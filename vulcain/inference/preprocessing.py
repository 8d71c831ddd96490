"""Steps 3-7 of docs/preprocessing.md: from a decoded BGR image to one input tensor.

Pure functions on numpy arrays, on the hot path of every request. The image stays uint8
through colour conversion and resizing (as the reference does), and the conversion to
float32, the scaling and the final layout happen in one pass into the output array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vulcain.errors import PreprocessingError
from vulcain.inference.means import fit_mean
from vulcain.schemas import ImagePreprocessing

FILL_VALUE = 255

# Axes of an H x W x C image, in the order of each dimension_order without N.
_LAYOUT_AXES: dict[str, tuple[int, int, int]] = {
    "NCHW": (2, 0, 1),
    "NCWH": (2, 1, 0),
    "NHWC": (0, 1, 2),
    "NWHC": (1, 0, 2),
}


@dataclass(frozen=True)
class PreparedImage:
    """One preprocessed image. ``tensor`` has no batch dimension; ``im_info`` is
    ``(height, width, scale)`` of the resized image, as a Caffe ``im_info`` input wants."""

    tensor: np.ndarray
    im_info: tuple[float, float, float]


def scaled_side(side: int, scale: float) -> int:
    """``floor(side * scale + 0.5)``, never below one pixel."""
    return max(1, math.floor(side * scale + 0.5))


def resize_image(image: np.ndarray, spec: ImagePreprocessing) -> tuple[np.ndarray, float]:
    """Step 4: resize (and crop or pad) ``image`` by ``spec``; return it with its scale.

    For ``SQUASH``, which scales each axis on its own, the scale reported is the vertical
    one (resized height / original height).
    """
    height, width = image.shape[:2]
    target = spec.target
    kind = spec.resize_type
    if kind == "NETWORK":
        if isinstance(target, int):
            scale = target / max(width, height)
        else:
            scale = min(target[0] / width, target[1] / height)
        size = (scaled_side(width, scale), scaled_side(height, scale))
        return _resize_to(image, size), scale
    out_w, out_h = (target, target) if isinstance(target, int) else target
    if kind == "SQUASH":
        return _resize_to(image, (out_w, out_h)), out_h / height
    if kind == "CROP":
        scale = max(out_w / width, out_h / height)
        new_w, new_h = max(out_w, scaled_side(width, scale)), max(out_h, scaled_side(height, scale))
        resized = _resize_to(image, (new_w, new_h))
        x0, y0 = (new_w - out_w) // 2, (new_h - out_h) // 2
        return resized[y0 : y0 + out_h, x0 : x0 + out_w], scale
    if kind == "FILL":
        scale = min(out_w / width, out_h / height)
        new_w, new_h = min(out_w, scaled_side(width, scale)), min(out_h, scaled_side(height, scale))
        resized = _resize_to(image, (new_w, new_h))
        canvas = np.full((out_h, out_w, *image.shape[2:]), FILL_VALUE, dtype=image.dtype)
        x0, y0 = (out_w - new_w) // 2, (out_h - new_h) // 2
        canvas[y0 : y0 + new_h, x0 : x0 + new_w] = resized
        return canvas, scale
    raise PreprocessingError(f"resize_type {kind!r} is not one of SQUASH, CROP, FILL, NETWORK.")


def _resize_to(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (image.shape[1], image.shape[0]) == size:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def preprocess(
    image: np.ndarray, spec: ImagePreprocessing, mean: np.ndarray | None = None
) -> PreparedImage:
    """Turn a decoded H x W x 3 uint8 BGR ``image`` (after its region was applied) into
    the float32 tensor of one network input, laid out in ``spec.dimension_order``
    without the batch dimension. ``mean`` comes from :func:`vulcain.inference.means.load_mean`.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise PreprocessingError(
            f"expected an H x W x 3 8-bit BGR image, got shape {image.shape} of {image.dtype}."
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise PreprocessingError(f"the image is empty (shape {image.shape}).")
    color = spec.color_channels
    if color == "L":
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    resized, scale = resize_image(image, spec)
    if resized.ndim == 2:
        resized = resized[:, :, np.newaxis]
    elif color == "RGB":
        # Swapping channels commutes exactly with a per-channel resize, so it is done on
        # the smaller image, as a view the float conversion reads through.
        resized = resized[:, :, ::-1]
    source = resized.transpose(_LAYOUT_AXES[spec.dimension_order])
    tensor = np.empty(source.shape, dtype=np.float32)
    factor = np.float32(spec.pixel_scaling / 255.0)
    if factor == 1:
        np.copyto(tensor, source, casting="unsafe")
    else:
        np.multiply(source, factor, out=tensor, dtype=np.float32)
    if mean is not None:
        np.subtract(tensor, fit_mean(mean, spec.dimension_order, tensor.shape), out=tensor)
    im_info = (float(resized.shape[0]), float(resized.shape[1]), float(scale))
    return PreparedImage(tensor=tensor, im_info=im_info)


def fed_shape(spec: ImagePreprocessing) -> tuple[int | None, int | None, int | None]:
    """The shape of the tensor :func:`preprocess` makes, without the batch dimension, in
    ``spec.dimension_order``; ``None`` for a side that follows the image (``NETWORK``)."""
    height: int | None
    width: int | None
    if spec.resize_type == "NETWORK":
        height = width = None
    else:
        target = spec.target
        width, height = (target, target) if isinstance(target, int) else target
    sides = {"C": spec.channels, "H": height, "W": width}
    first, second, third = (sides[axis] for axis in spec.dimension_order[1:])
    return first, second, third

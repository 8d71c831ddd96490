"""What a tensor fed to a network looks like: its statistics and one picture per channel.

The answer of the preprocessing dry-run (``POST .../preprocess``): pure functions on numpy
arrays, so the same description can be made of any tensor.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

_CHANNEL_AXIS = {"NCHW": 1, "NCWH": 1, "NHWC": 3, "NWHC": 3}
_WIDTH_FIRST = frozenset({"NCWH", "NWHC"})


def channel_planes(tensor: np.ndarray, dimension_order: str | None) -> list[np.ndarray]:
    """The height x width planes of the first image of a batched image ``tensor`` laid out
    in ``dimension_order``, one per channel; none for a tensor that is not an image
    (``im_info``, or no known layout)."""
    axis = _CHANNEL_AXIS.get(dimension_order or "")
    if axis is None or tensor.ndim != 4 or tensor.shape[0] == 0:
        return []
    image = np.moveaxis(tensor[0], axis - 1, 0)
    if dimension_order in _WIDTH_FIRST:
        image = image.transpose(0, 2, 1)
    return list(image)


def plane_png(plane: np.ndarray) -> bytes:
    """A grey PNG of one channel, its values stretched from its own minimum (black) to its
    maximum (white); a constant channel is mid-grey."""
    values = np.asarray(plane, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    if high > low:
        grey = np.rint((values - low) * (255.0 / (high - low)))
    else:
        grey = np.full(values.shape, 128.0)
    ok, encoded = cv2.imencode(".png", grey.astype(np.uint8))
    if not ok:  # pragma: no cover - OpenCV encodes any 2-D uint8 array as PNG
        raise ValueError("OpenCV could not encode the preview as PNG")
    return encoded.tobytes()


def describe_tensor(tensor: np.ndarray, dimension_order: str | None) -> dict[str, Any]:
    """Shape, dtype, min, max, mean of ``tensor`` and, for an image tensor, the PNG of
    each of its channels (:func:`plane_png`), in channel order."""
    values = np.asarray(tensor)
    has_values = values.size > 0
    return {
        "shape": list(values.shape),
        "dtype": str(values.dtype),
        "min": float(values.min()) if has_values else None,
        "max": float(values.max()) if has_values else None,
        "mean": float(values.mean(dtype=np.float64)) if has_values else None,
        "channels": [plane_png(plane) for plane in channel_planes(values, dimension_order)],
    }

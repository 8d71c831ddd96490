"""Where a network's input lies in the image a request sent: network-input coordinates
(relative, in [0, 1]) back to the original image's (relative too).

The network saw a region of the image (after ``crop_uniform_background``, ``bbox`` and
``polygon``, :func:`vulcain.inference.regions.locate_region`) resized by the input's
``resize_type`` (:func:`vulcain.inference.preprocessing.resize_image`). Each of these steps
is a scale and a shift of each axis, so the whole is one per axis: ``image_x = offset_x +
scale_x * input_x``. Pure arithmetic, on the numbers the preprocessing used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vulcain.inference.preprocessing import scaled_side
from vulcain.schemas import ImagePreprocessing


@dataclass(frozen=True)
class Framing:
    """The map from one network input's relative coordinates to the image's."""

    offset_x: float
    offset_y: float
    scale_x: float
    scale_y: float
    region: tuple[float, float, float, float]
    """``(xmin, ymin, xmax, ymax)`` of the region the network saw, relative to the image."""
    input_width: int
    input_height: int
    """The size in pixels of the network input (to make pixel coordinates relative)."""

    def to_image(self, boxes: np.ndarray) -> np.ndarray:
        """``(K, 4)`` boxes ``[xmin, ymin, xmax, ymax]`` relative to the network input, as
        boxes relative to the image, clipped to the region the network saw."""
        scale = np.array([self.scale_x, self.scale_y, self.scale_x, self.scale_y])
        offset = np.array([self.offset_x, self.offset_y, self.offset_x, self.offset_y])
        mapped = boxes * scale + offset
        low = np.array(self.region[:2] * 2)
        high = np.array(self.region[2:] * 2)
        clipped: np.ndarray = np.clip(mapped, low, high)
        return clipped


IDENTITY = Framing(0.0, 0.0, 1.0, 1.0, (0.0, 0.0, 1.0, 1.0), 1, 1)


def framing(
    image_size: tuple[int, int], region: tuple[int, int, int, int], spec: ImagePreprocessing
) -> Framing:
    """The framing of an input whose image was ``image_size`` ``(width, height)`` pixels,
    of which the pixels ``region`` ``(x0, y0, x1, y1)`` (ends exclusive) were resized by
    ``spec`` into the network input."""
    width, height = image_size
    x0, y0, x1, y1 = region
    crop_w, crop_h = x1 - x0, y1 - y0
    # Relative to the region: region_x = shift_x + stretch_x * input_x.
    shift_x, shift_y, stretch_x, stretch_y, input_w, input_h = _resize_map(crop_w, crop_h, spec)
    return Framing(
        offset_x=(x0 + shift_x * crop_w) / width,
        offset_y=(y0 + shift_y * crop_h) / height,
        scale_x=stretch_x * crop_w / width,
        scale_y=stretch_y * crop_h / height,
        region=(x0 / width, y0 / height, x1 / width, y1 / height),
        input_width=input_w,
        input_height=input_h,
    )


def _resize_map(
    width: int, height: int, spec: ImagePreprocessing
) -> tuple[float, float, float, float, int, int]:
    """As :func:`vulcain.inference.preprocessing.resize_image` resizes a ``width`` x
    ``height`` image: ``(shift_x, shift_y, stretch_x, stretch_y, input_w, input_h)``."""
    target = spec.target
    if spec.resize_type == "NETWORK":
        if isinstance(target, int):
            scale = target / max(width, height)
        else:
            scale = min(target[0] / width, target[1] / height)
        return 0.0, 0.0, 1.0, 1.0, scaled_side(width, scale), scaled_side(height, scale)
    out_w, out_h = (target, target) if isinstance(target, int) else target
    if spec.resize_type == "CROP":
        scale = max(out_w / width, out_h / height)
        new_w = max(out_w, scaled_side(width, scale))
        new_h = max(out_h, scaled_side(height, scale))
        left, top = (new_w - out_w) // 2, (new_h - out_h) // 2
        return left / new_w, top / new_h, out_w / new_w, out_h / new_h, out_w, out_h
    if spec.resize_type == "FILL":
        scale = min(out_w / width, out_h / height)
        new_w = min(out_w, scaled_side(width, scale))
        new_h = min(out_h, scaled_side(height, scale))
        left, top = (out_w - new_w) // 2, (out_h - new_h) // 2
        return -left / new_w, -top / new_h, out_w / new_w, out_h / new_h, out_w, out_h
    return 0.0, 0.0, 1.0, 1.0, out_w, out_h  # SQUASH

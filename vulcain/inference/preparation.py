"""From a request's images to the tensors a loaded model is fed (steps 1 to 7 of the
preprocessing, for every input of the network)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vulcain.errors import ImageError
from vulcain.inference._model_cache import IM_INFO, LoadedModel
from vulcain.inference.preprocessing import PreparedImage, preprocess
from vulcain.inference.regions import Box, Check, locate_region
from vulcain.inference.sources import decode_image
from vulcain.schemas import ImageInput


def decode_located(
    data: bytes, image: ImageInput, max_pixels: int, max_polygon_points: int, check: Check
) -> tuple[np.ndarray, tuple[int, int], Box]:
    """Decode one input's image and apply its region, calling ``check`` between the steps
    and while a polygon is filled; with the image's ``(width, height)`` and where in it the
    region lies. The API refuses polygons of more than ``max_polygon_points``; a task
    stored before that limit is refused here, before the fill, whose cost grows faster
    than the points."""
    if image.polygon is not None and len(image.polygon) > max_polygon_points:
        raise ImageError(
            f"the polygon has {len(image.polygon)} points, more than the "
            f"{max_polygon_points} allowed (VULCAIN_MAX_POLYGON_POINTS)."
        )
    pixels = decode_image(data, max_pixels)
    check()
    region, box = locate_region(
        pixels,
        bbox=image.bbox,
        polygon=image.polygon,
        crop_uniform_background=image.crop_uniform_background,
        check=check,
    )
    return region, (pixels.shape[1], pixels.shape[0]), box


def model_feeds(model: LoadedModel, batch: Sequence[Sequence[np.ndarray]]) -> dict[str, np.ndarray]:
    """The feeds of ``model`` for a batch: one sequence of decoded images per item, one
    image per preprocessing input, in order (plus ``im_info`` where the network wants it)."""
    inputs = model.network.preprocessing.inputs
    prepared: list[list[PreparedImage]] = [
        [
            preprocess(images[index], entry.image, model.means[index])
            for index, entry in enumerate(inputs)
        ]
        for images in batch
    ]
    feeds = {
        entry.tensor_name: np.stack([item[index].tensor for item in prepared])
        for index, entry in enumerate(inputs)
    }
    if model.needs_im_info:
        feeds[IM_INFO] = np.array([item[0].im_info for item in prepared], dtype=np.float32)
    return feeds


def warmup_image(target: tuple[int, int] | int, value: int = 127) -> np.ndarray:
    """A grey image of the target size, for a warm-up pass."""
    width, height = (target, target) if isinstance(target, int) else target
    return np.full((height, width, 3), value, dtype=np.uint8)

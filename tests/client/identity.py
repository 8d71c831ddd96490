"""The identity network of the client tests and what it must answer, from numpy/OpenCV."""

from __future__ import annotations

import cv2
import numpy as np

IMAGE_HEIGHT, IMAGE_WIDTH = 6, 8
TARGET_SIZE = "8x6"
IDENTITY_PREPROCESSING = {
    "inputs": [
        {
            "tensor_name": "data",
            "image": {
                "dimension_order": "NCHW",
                "target_size": TARGET_SIZE,
                "resize_type": "SQUASH",
                "color_channels": "BGR",
                "pixel_scaling": 255.0,
                "data_type": "FLOAT32",
            },
        }
    ],
    "batched_output": True,
}


def expected_identity(image_bgr: np.ndarray, bbox: dict[str, float] | None = None) -> np.ndarray:
    """What the identity network answers for an image: docs/preprocessing.md with numpy/OpenCV."""
    if bbox is not None:
        height, width = image_bgr.shape[:2]
        x0, y0 = int(np.floor(bbox["xmin"] * width)), int(np.floor(bbox["ymin"] * height))
        x1, y1 = int(np.ceil(bbox["xmax"] * width)), int(np.ceil(bbox["ymax"] * height))
        image_bgr = image_bgr[y0:y1, x0:x1]
    resized = cv2.resize(image_bgr, (IMAGE_WIDTH, IMAGE_HEIGHT), interpolation=cv2.INTER_LINEAR)
    return resized.astype(np.float32).transpose(2, 0, 1)[np.newaxis]

"""A live Vulcain server and the inputs the official clients are tested with."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import pytest

from tests.builders import onnx_channel_classifier, onnx_identity
from tests.client.identity import IMAGE_HEIGHT, IMAGE_WIDTH
from tests.servers import VulcainServer, file_server, vulcain_server

CLASSIFIER_LABELS = ("cat", "dog", "bird", "fish")
CLASSIFIER_WEIGHTS = np.array(
    [[0.01, -0.01, 0.0, 0.002], [0.0, 0.01, -0.01, 0.0], [-0.01, 0.0, 0.01, 0.003]]
)
CLASSIFIER_BIAS = np.array([-4.0, 0.2, -5.0, 1.5])
"""Two labels above the default threshold 0.025 and two below, as in the official client's
own test on its public model (2 predicted and 1 discarded among 3)."""


@pytest.fixture(scope="session")
def compat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VulcainServer]:
    with vulcain_server(tmp_path_factory.mktemp("vulcain-compat")) as running:
        yield running


@pytest.fixture(scope="session")
def compat_inputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("compat-inputs")
    rng = np.random.default_rng(11)
    image = rng.integers(0, 256, size=(IMAGE_HEIGHT * 3, IMAGE_WIDTH * 3, 3), dtype=np.uint8)
    cv2.imwrite(str(folder / "image.png"), image)
    model = onnx_identity(folder / "model")["model.onnx"]
    classifier = onnx_channel_classifier(folder / "classifier", CLASSIFIER_WEIGHTS, CLASSIFIER_BIAS)
    with file_server(folder) as base_url:
        yield {
            "image_bgr": image,
            "image_path": folder / "image.png",
            "image_url": base_url + "/image.png",
            "model_path": model,
            "classifier_path": classifier["model.onnx"],
            "label_names": CLASSIFIER_LABELS,
        }

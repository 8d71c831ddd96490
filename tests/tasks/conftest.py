from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.builders import onnx_identity
from vulcain.schemas import ImageInput, InferenceInput, InferenceRequest, Preprocessing

HEIGHT, WIDTH = 6, 8
IDENTITY_PREPROCESSING = Preprocessing.model_validate(
    {"inputs": [{"tensor_name": "data", "image": {"target_size": f"{WIDTH}x{HEIGHT}"}}]}
)


@pytest.fixture(scope="session")
def identity_model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real ONNX network: input ``data`` [N, 3, H, W], output ``out`` = input."""
    return onnx_identity(tmp_path_factory.mktemp("identity"))


@pytest.fixture(scope="session")
def image() -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def png_request(image: np.ndarray, outputs: tuple[str, ...] = ("out",)) -> InferenceRequest:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return InferenceRequest(
        inputs=[InferenceInput(image=ImageInput(source=encoded.tobytes()))],
        output_tensors=list(outputs),
    )

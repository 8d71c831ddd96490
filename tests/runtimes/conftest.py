from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests import builders


def _built(factory: pytest.TempPathFactory, build: Callable[[Path], object]) -> Path:
    folder = factory.mktemp(build.__name__)
    build(folder)
    return folder


@pytest.fixture(scope="session")
def tf_small_cnn_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _built(tmp_path_factory, builders.tf_small_cnn)


@pytest.fixture(scope="session")
def tf_identity_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _built(tmp_path_factory, builders.tf_identity)


@pytest.fixture(scope="session")
def caffe_small_cnn_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _built(tmp_path_factory, builders.caffe_small_cnn)


@pytest.fixture(scope="session")
def onnx_small_cnn_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _built(tmp_path_factory, builders.onnx_small_cnn)


def images(batch: int, channels: int = 3, height: int = 16, width: int = 16, seed: int = 0):
    """Random NCHW float32 images in the 0-255 range."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (batch, channels, height, width)).astype(np.float32)

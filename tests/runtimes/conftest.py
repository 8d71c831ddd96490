from __future__ import annotations

from pathlib import Path

import pytest

from tests import builders


@pytest.fixture(scope="session")
def tf_small_cnn_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tf_small_cnn")
    builders.tf_small_cnn(folder)
    return folder


@pytest.fixture(scope="session")
def tf_identity_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tf_identity")
    builders.tf_identity(folder)
    return folder


@pytest.fixture(scope="session")
def caffe_small_cnn_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("caffe_small_cnn")
    builders.caffe_small_cnn(folder)
    return folder


@pytest.fixture(scope="session")
def onnx_small_cnn_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("onnx_small_cnn")
    builders.onnx_small_cnn(folder)
    return folder


def images(batch: int, channels: int = 3, height: int = 16, width: int = 16, seed: int = 0):
    """Random NCHW float32 images in the 0-255 range."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (batch, channels, height, width)).astype(np.float32)

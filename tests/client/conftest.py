from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.builders import onnx_identity
from tests.client.identity import IDENTITY_PREPROCESSING, IMAGE_HEIGHT, IMAGE_WIDTH
from tests.servers import (
    FlakyProxy,
    VulcainServer,
    file_server,
    flaky_proxy,
    vulcain_server,
)
from vulcain.client import Client, Network


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VulcainServer]:
    with vulcain_server(tmp_path_factory.mktemp("vulcain")) as running:
        yield running


@pytest.fixture(scope="session")
def client(server: VulcainServer) -> Iterator[Client]:
    with Client(api_key=server.api_key, host=server.url, timeout=30.0) as vulcain:
        yield vulcain


@pytest.fixture(scope="session")
def identity_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return onnx_identity(tmp_path_factory.mktemp("onnx_identity"))


@pytest.fixture(scope="session")
def identity_network(client: Client, identity_files: dict[str, Path]) -> Network:
    """One deployed identity network shared by the inference tests (never modified)."""
    network = client.Network.create(
        name="identity",
        framework="onnx",
        preprocessing=IDENTITY_PREPROCESSING,
        files=identity_files,
    )
    network.deployment().wait(timeout=120)
    return network


@pytest.fixture(scope="session")
def image_bgr() -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, size=(IMAGE_HEIGHT * 4, IMAGE_WIDTH * 4, 3), dtype=np.uint8)


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory: pytest.TempPathFactory, image_bgr: np.ndarray) -> Path:
    folder = tmp_path_factory.mktemp("images")
    cv2.imwrite(str(folder / "image.png"), image_bgr)
    (folder / "not-an-image.png").write_bytes(b"this is text, not a picture")
    (folder / "preprocessing.json").write_text(json.dumps(IDENTITY_PREPROCESSING))
    return folder


@pytest.fixture(scope="session")
def image_url(image_dir: Path) -> Iterator[str]:
    with file_server(image_dir) as base_url:
        yield base_url + "/image.png"


@pytest.fixture
def proxy(server) -> Iterator[FlakyProxy]:
    with flaky_proxy(server.url) as running:
        yield running


@pytest.fixture
def proxied(server, proxy) -> Iterator[Client]:
    with Client(api_key=server.api_key, host=proxy.url, max_retries=3) as client:
        yield client

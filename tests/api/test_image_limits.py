"""An image sent as a multipart file part is capped like one fetched from a URL."""

from __future__ import annotations

import pytest

from tests.api.conftest import create_onnx
from vulcain.config import Settings

FETCH_MAX_BYTES = 4096


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(update={"fetch_max_bytes": FETCH_MAX_BYTES})


def test_an_image_file_part_over_the_fetch_cap_is_a_413_and_no_task(client, admin, onnx_files):
    network = create_onnx(client, admin, onnx_files).json()
    url = f"/v0.7/networks/{network['id']}/inference"

    def infer(size: int):
        return client.post(
            url,
            headers=admin,
            data={"output_tensors": "out"},
            files={"inputs[0]image.source": ("a.png", b"x" * size)},
        )

    too_large = infer(FETCH_MAX_BYTES + 1)
    assert too_large.status_code == 413, too_large.text
    assert "inputs[0].image.source" in too_large.json()["error"]
    assert str(FETCH_MAX_BYTES) in too_large.json()["error"]
    assert client.get("/v0.7/tasks", headers=admin).json()["count"] == 1
    assert infer(FETCH_MAX_BYTES).status_code == 200

"""No request's preparation holds the engine: a polygon's points are bounded, each
image's decoding and region have a CPU-time budget, and a stopping engine interrupts the
preparation in progress."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests import builders
from tests.inference.test_engine import image_spec, make_network, png, request, sample_image
from tests.settings import engine_settings
from vulcain.errors import ImageError
from vulcain.inference.budget import ShuttingDown
from vulcain.inference.engine import Engine


def many_sided(points: int, seed: int = 0) -> list[dict[str, float]]:
    """A polygon of random points: its edges cross each other all over the image, the
    costliest kind to fill."""
    xy = np.random.default_rng(seed).random((points, 2))
    return [{"x": float(x), "y": float(y)} for x, y in xy]


@pytest.fixture
def network(tmp_path: Path):
    preprocessing = {"inputs": [{"tensor_name": "data", "image": image_spec()}]}
    return make_network(builders.onnx_identity(tmp_path / "m"), "onnx", preprocessing)


def engine(tmp_path: Path, blobs: dict[str, Path], **settings: object) -> Engine:
    return Engine(engine_settings(tmp_path, workers=1, **settings), blobs.__getitem__)


def test_a_polygon_over_its_budget_fails_and_frees_the_thread_for_others(tmp_path, network):
    spec, blobs = network
    served = engine(tmp_path, blobs, max_polygon_points=100_000, image_cpu_seconds=0.05)
    try:
        image = png(sample_image(1000, 1000))
        # Filled whole, this polygon holds a core for many seconds (its cost grows with
        # the square of its points); the budget stops it within one band of rows.
        costly = served.submit(spec, request(image, outputs=["out"], polygon=many_sided(20_000)))
        # One preparation thread: this request can only run once the first lets go.
        normal = served.submit(spec, request(png(sample_image()), outputs=["out"]))
        with pytest.raises(ImageError, match=r"VULCAIN_IMAGE_CPU_SECONDS"):
            costly.result(timeout=120)
        assert normal.result(timeout=120)["out"].shape == (1, 3, 16, 24)
    finally:
        served.close()


def test_a_polygon_over_the_point_limit_is_refused_before_it_is_filled(tmp_path, network):
    spec, blobs = network
    served = engine(tmp_path, blobs, max_polygon_points=10)
    try:
        image = png(sample_image(100, 100))
        with pytest.raises(ImageError, match=r"11 points, more than the 10 allowed"):
            served.infer(spec, request(image, outputs=["out"], polygon=many_sided(11)))
        assert served.infer(spec, request(image, outputs=["out"], polygon=many_sided(10)))
    finally:
        served.close()


def test_closing_interrupts_a_preparation_in_progress(tmp_path, network):
    spec, blobs = network
    served = engine(tmp_path, blobs, max_polygon_points=100_000, image_cpu_seconds=3600)
    preparing = threading.Event()
    image = png(sample_image(1000, 1000))
    # Filled whole, this polygon would hold the thread for minutes.
    costly = served.submit(
        spec,
        request(image, outputs=["out"], polygon=many_sided(50_000)),
        lambda running: preparing.set() if running else None,
    )
    assert preparing.wait(timeout=60)
    time.sleep(2)  # decoding takes milliseconds: the polygon is being filled
    closing = threading.Thread(target=served.close)
    closing.start()
    closing.join(timeout=60)
    assert not closing.is_alive(), "close() waited for the polygon to be filled"
    with pytest.raises(ShuttingDown):
        costly.result(timeout=0)


def test_a_burst_for_one_network_does_not_hold_another_behind_it(tmp_path):
    files = builders.onnx_identity(tmp_path / "m")
    preprocessing = {"inputs": [{"tensor_name": "data", "image": image_spec()}]}
    busy, blobs = make_network(files, "onnx", preprocessing, network_id=1)
    other, _ = make_network(files, "onnx", preprocessing, network_id=2)
    served = engine(tmp_path, blobs, max_polygon_points=4000)
    finished: list[str] = []
    try:
        served.infer(other, request(png(sample_image()), outputs=["out"]))  # loaded
        served.infer(busy, request(png(sample_image()), outputs=["out"]))
        costly = request(png(sample_image(1500, 1500)), outputs=["out"], polygon=many_sided(3000))
        burst = [served.submit(busy, costly) for _ in range(6)]
        for index, future in enumerate(burst):
            future.add_done_callback(lambda _, index=index: finished.append(f"busy-{index}"))
        # One preparation thread, taken by the burst's first request: the other network's
        # request is next, not seventh.
        alone = served.submit(other, request(png(sample_image()), outputs=["out"]))
        alone.add_done_callback(lambda _: finished.append("other"))
        for future in [*burst, alone]:
            future.result(timeout=300)
    finally:
        served.close()
    assert finished.index("other") <= 2, finished

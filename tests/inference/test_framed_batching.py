"""Requests that want their framing (recognition) are batched with the others: each gets
the tensors it would get alone, and the framed ones where their region lay."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tests.inference.test_batching import engine, small_cnn
from tests.inference.test_engine import png, request, sample_image
from vulcain.inference.engine import FramedOutputs

BBOX = {"xmin": 0.2, "ymin": 0.1, "xmax": 0.7, "ymax": 0.9}


def test_framed_and_plain_requests_share_batches(tmp_path: Path) -> None:
    network, blobs = small_cnn(tmp_path, "onnx")
    images = [png(sample_image(seed=seed)) for seed in range(8)]  # 53 x 37 pixels
    requests = [request(image, outputs=["prob"], bbox=BBOX) for image in images]

    alone_engine = engine(tmp_path, blobs, max_batch_size=1)
    try:
        alone = [alone_engine.infer(network, item) for item in requests]
    finally:
        alone_engine.close()

    batching_engine = engine(tmp_path, blobs, max_batch_size=8, max_queue_delay_ms=200)
    try:
        batching_engine.deploy(network)
        model = batching_engine._models.get(network)
        with model.batcher.preparing():  # held while all are submitted: one full batch
            futures = [
                batching_engine.submit(network, item, framed=index % 2 == 0)
                for index, item in enumerate(requests)
            ]
            while model.batcher.batch_sizes.total() == 0 and not futures[0].done():
                time.sleep(0.01)
        together = [future.result(timeout=60) for future in futures]
        sizes = model.batcher.batch_sizes
    finally:
        batching_engine.close()

    assert max(sizes) > 1, f"no batch formed: {sizes}"
    # The bbox covers pixels x 10..38 and y 3..34 of the 53 x 37 image.
    region = (10 / 53, 3 / 37, 38 / 53, 34 / 37)
    for index, (one, other) in enumerate(zip(alone, together, strict=True)):
        np.testing.assert_array_equal(one["prob"], other["prob"])
        assert isinstance(other, FramedOutputs) == (index % 2 == 0)
        if isinstance(other, FramedOutputs):
            assert other.framing.region == region
            assert (other.framing.input_width, other.framing.input_height) == (16, 16)

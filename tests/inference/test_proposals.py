"""Faster-RCNN's proposal layer against an independent numpy implementation of
py-faster-rcnn's ``rpn.proposal_layer`` (TEST phase), written here with plain loops, on a
real Caffe network served by the engine at an image scale other than 1."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from tests import builders
from tests.inference.test_engine import (
    engine_for,
    image_spec,
    make_network,
    png,
    request,
    sample_image,
)
from tests.settings import engine_settings
from vulcain.inference.engine import Engine

__all__ = ["engine_for"]  # the fixture, shared with test_engine

FEAT_STRIDE, MIN_SIZE, PRE_NMS, POST_NMS, NMS_THRESH = 16, 16, 6000, 300, 0.7
SCALES = (1, 2, 4)
"""Small anchors (11 to 91 pixels), so that some proposals are near ``MIN_SIZE``."""


def reference_anchors() -> list[tuple[float, float, float, float]]:
    """generate_anchors(16, ratios (0.5, 1, 2), SCALES), one box at a time."""
    boxes = []
    for ratio in (0.5, 1.0, 2.0):
        width = round(math.sqrt(16 * 16 / ratio))  # Python's round: half to even, as numpy's
        height = round(width * ratio)
        for scale in SCALES:
            w, h = width * scale, height * scale
            boxes.append(
                (7.5 - (w - 1) / 2, 7.5 - (h - 1) / 2, 7.5 + (w - 1) / 2, 7.5 + (h - 1) / 2)
            )
    return boxes


def reference_proposals(
    prob: np.ndarray, deltas: np.ndarray, im_height: float, im_width: float, scale: float
) -> np.ndarray:
    anchors = reference_anchors()
    count = len(anchors)
    _, _, rows, cols = prob.shape
    candidates = []
    for y in range(rows):
        for x in range(cols):
            for a, (x1, y1, x2, y2) in enumerate(anchors):
                x1, x2 = x1 + x * FEAT_STRIDE, x2 + x * FEAT_STRIDE
                y1, y2 = y1 + y * FEAT_STRIDE, y2 + y * FEAT_STRIDE
                dx, dy, dw, dh = (float(deltas[0, 4 * a + k, y, x]) for k in range(4))
                w, h = x2 - x1 + 1, y2 - y1 + 1
                cx, cy = x1 + 0.5 * w + dx * w, y1 + 0.5 * h + dy * h
                pw, ph = math.exp(dw) * w, math.exp(dh) * h
                box = [
                    min(max(cx - 0.5 * pw, 0), im_width - 1),
                    min(max(cy - 0.5 * ph, 0), im_height - 1),
                    min(max(cx + 0.5 * pw, 0), im_width - 1),
                    min(max(cy + 0.5 * ph, 0), im_height - 1),
                ]
                if box[2] - box[0] + 1 >= MIN_SIZE * scale and box[3] - box[1] + 1 >= (
                    MIN_SIZE * scale
                ):
                    candidates.append((float(prob[0, count + a, y, x]), box))
    candidates.sort(key=lambda item: -item[0])  # stable: ties keep their order
    candidates = candidates[:PRE_NMS]
    kept: list[list[float]] = []
    for _, box in candidates:
        if all(_overlap(box, other) <= NMS_THRESH for other in kept):
            kept.append(box)
    return np.array([[0.0, *box] for box in kept[:POST_NMS]])


def _overlap(a: list[float], b: list[float]) -> float:
    inter_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]) + 1)
    inter_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]) + 1)
    inter = inter_w * inter_h
    area_a = (a[2] - a[0] + 1) * (a[3] - a[1] + 1)
    area_b = (b[2] - b[0] + 1) * (b[3] - b[1] + 1)
    return inter / (area_a + area_b - inter)


def test_proposals_match_the_reference_layer_at_a_scale_other_than_1(
    tmp_path: Path, engine_for
) -> None:
    # A 64 x 48 image resized (NETWORK, longest side 96) by 1.5: im_info is [72, 96, 1.5],
    # so boxes narrower than 16 x 1.5 = 24 pixels are dropped before NMS.
    spec = image_spec(resize_type="NETWORK", target_size="96", pixel_scaling=1.0)
    network, blobs = make_network(
        builders.caffe_proposal_net(tmp_path / "m", scales=SCALES),
        "nv-caffe-0.x-mod",
        {"inputs": [{"tensor_name": "data", "image": spec}], "batched_output": False},
    )
    engine = engine_for(blobs)
    engine.deploy(network)
    image = np.random.default_rng(5).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    names = ["rois", "rpn_cls_prob_reshape", "rpn_bbox_pred"]
    result = engine.infer(network, request(png(image), outputs=names))

    prob, deltas = result["rpn_cls_prob_reshape"], result["rpn_bbox_pred"]
    expected = reference_proposals(prob, deltas, 72, 96, 1.5)
    rois = result["rois"]
    assert rois.shape == (POST_NMS, 5)
    assert 0 < len(expected) < POST_NMS
    np.testing.assert_allclose(rois[: len(expected)], expected, rtol=1e-5, atol=1e-3)
    assert not rois[len(expected) :].any()  # the rows after the proposals are zeros
    # The scale matters here: at scale 1 other boxes survive.
    at_scale_1 = reference_proposals(prob, deltas, 72, 96, 1.0)
    assert at_scale_1.shape != expected.shape or not np.allclose(at_scale_1, expected)


def test_a_proposal_network_runs_its_requests_alone(tmp_path: Path) -> None:
    # A batch of two gives each image its post_nms_topn rows (600, 5): the layer's output
    # has no batch axis. The deployment finds it for the layer's own name, the first batch
    # asking for its top ``rois``; no request gets another's proposals.
    spec = image_spec(resize_type="SQUASH", target_size="64x48", pixel_scaling=1.0)
    network, blobs = make_network(
        builders.caffe_proposal_net(tmp_path / "m", scales=SCALES),
        "nv-caffe-0.x-mod",
        {"inputs": [{"tensor_name": "data", "image": spec}], "batched_output": True},
    )
    settings = engine_settings(tmp_path, max_batch_size=8, max_queue_delay_ms=50)
    engine = Engine(settings, blobs.__getitem__)
    try:
        assert engine.deploy(network).unbatched_outputs == ["proposal"]
        images = [png(sample_image(48, 64, seed=seed)) for seed in range(8)]
        alone = [engine.infer(network, request(image, outputs=["rois"])) for image in images]
        futures = [engine.submit(network, request(image, outputs=["rois"])) for image in images]
        together = [future.result(timeout=60) for future in futures]
        batcher = engine._models.get(network).batcher
    finally:
        engine.close()
    assert batcher.unbatched_outputs == ["proposal", "rois"]
    for one, other in zip(alone, together, strict=True):
        assert one["rois"].shape == (POST_NMS, 5) and one["rois"][0].any()
        np.testing.assert_array_equal(one["rois"], other["rois"])

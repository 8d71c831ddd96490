"""Detection through the recognition API, one network per output kind, built so that its
candidates are known; the expected boxes come from plain-Python decoding and NMS
(tests/recognition/reference.py) and the crop's arithmetic written out here."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from tests.api.recognition_helpers import create_spec, create_version, deploy, labels, recognise
from tests.builders import onnx_constant_outputs
from tests.recognition.reference import Box, centre_box, greedy_nms, sigmoid

WIDTH, HEIGHT = 40, 30
IMAGE = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)


def _expected(
    candidates: list[tuple[int, float, Box, int]],
    thresholds: list[float],
    nms: float,
    *,
    max_predictions: int = 100,
    show_discarded: bool = False,
    to_image: Any = lambda box: box,
    label_ids: tuple[int, ...] = (1, 2),
) -> tuple[list[tuple[int, float, Box, int]], list[tuple[int, float, Box, int]]]:
    """(label id, score, box in the image, region id) predicted and discarded."""
    region_of = {(label, score, box): region for label, score, box, region in candidates}
    pool = [
        (label, score, box)
        for label, score, box, _ in candidates
        if show_discarded or score >= thresholds[label]
    ]
    kept = greedy_nms(pool, nms)[:max_predictions]
    predicted = [c for c in kept if c[1] >= thresholds[c[0]]]
    discarded = [c for c in kept if c[1] < thresholds[c[0]]] if show_discarded else []
    numbers: dict[int, int] = {}
    shown = []
    for group in (predicted, discarded):
        rows = []
        for label, score, box in group:
            region = numbers.setdefault(region_of[(label, score, box)], len(numbers) + 1)
            rows.append((label_ids[label], score, to_image(box), region))
        shown.append(rows)
    return shown[0], shown[1]


def _assert_predictions(actual: list[dict[str, Any]], expected: list[tuple], names: tuple) -> None:
    assert len(actual) == len(expected), (actual, expected)
    for prediction, (label_id, score, box, region) in zip(actual, expected, strict=True):
        assert set(prediction) == {"label_id", "label_name", "score", "threshold", "roi"}
        assert prediction["label_id"] == label_id
        assert prediction["label_name"] == names[label_id - 1]
        assert prediction["score"] == pytest.approx(score, abs=1e-6)
        assert prediction["roi"]["region_id"] == region
        bbox = prediction["roi"]["bbox"]
        got = [bbox["xmin"], bbox["ymin"], bbox["xmax"], bbox["ymax"]]
        assert got == pytest.approx(list(box), abs=1e-5)


def _check(task: dict[str, Any], expected: tuple, names: tuple = ("car", "person")) -> None:
    assert task["status"] == "success", task
    (output,) = task["data"]["outputs"]
    _assert_predictions(output["labels"]["predicted"], expected[0], names)
    _assert_predictions(output["labels"]["discarded"], expected[1], names)


# Candidates (label position, score, [xmin, ymin, xmax, ymax] in the network input): two
# overlapping boxes of one label (the second suppressed), the same box with another label
# (kept), a box overlapping little (kept), one below its threshold.
DIRECT = [
    (0, 0.9, (0.1, 0.1, 0.5, 0.5)),
    (0, 0.8, (0.12, 0.12, 0.52, 0.52)),
    (1, 0.7, (0.12, 0.12, 0.52, 0.52)),
    (0, 0.6, (0.3, 0.3, 0.7, 0.7)),
    (1, 0.3, (0.6, 0.6, 0.9, 0.9)),
]


@pytest.fixture
def direct_version(client, admin, tmp_path) -> int:
    rows = [(box[1], box[0], box[3], box[2]) for _, _, box in DIRECT]  # [ymin, xmin, ...]
    boxes = np.array([*rows, (0, 0, 0, 0), (0.1, 0.1, 0.9, 0.9)])
    scores = np.array([score for _, score, _ in DIRECT] + [0.0, 0.95])
    classes = np.array([label + 1 for label, _, _ in DIRECT] + [0, 9])  # 9: no such label
    files = onnx_constant_outputs(tmp_path, {"boxes": boxes, "scores": scores, "classes": classes})
    network = deploy(client, admin, files)
    spec = create_spec(client, admin, labels("car", "person", first_id=1), roi="BBOX")
    detection = {
        "thresholds": [0.5, 0.5],
        "nms_threshold": 0.5,
        "direct_output": {
            "boxes_tensor": "boxes",
            "scores_tensor": "scores",
            "classes_tensor": "classes",
        },
    }
    return create_version(client, admin, spec["id"], network, {"detection": detection})["id"]


def _direct_candidates() -> list[tuple[int, float, Box, int]]:
    return [(label, score, box, index) for index, (label, score, box) in enumerate(DIRECT)]


def test_direct_output_nms_per_label_thresholds_and_cap(client, admin, direct_version):
    path = f"versions/{direct_version}"
    candidates = _direct_candidates()
    _check(
        recognise(client, admin, path, IMAGE, show_discarded=True),
        _expected(candidates, [0.5, 0.5], 0.5, show_discarded=True),
    )
    _check(recognise(client, admin, path, IMAGE), _expected(candidates, [0.5, 0.5], 0.5))
    _check(
        recognise(client, admin, path, IMAGE, max_predictions=2, show_discarded=True),
        _expected(candidates, [0.5, 0.5], 0.5, max_predictions=2, show_discarded=True),
    )
    # The expectation itself: boxes 0, 2 and 3 predicted, 4 discarded, 1 suppressed.
    predicted, discarded = _expected(candidates, [0.5, 0.5], 0.5, show_discarded=True)
    assert [row[1] for row in predicted] == [0.9, 0.7, 0.6]
    assert [row[1] for row in discarded] == [0.3]


def test_boxes_are_in_the_original_image_after_a_bbox_crop(client, admin, direct_version):
    bbox = {"xmin": 0.25, "ymin": 0.2, "xmax": 0.75, "ymax": 0.9}
    # Pixels x 10..30 and y 6..27 of the 40x30 image are cropped, then squashed to 16x16.
    x0, y0, x1, y1 = 10, 6, 30, 27

    def to_image(box: Box) -> Box:
        return (
            (x0 + box[0] * (x1 - x0)) / WIDTH,
            (y0 + box[1] * (y1 - y0)) / HEIGHT,
            (x0 + box[2] * (x1 - x0)) / WIDTH,
            (y0 + box[3] * (y1 - y0)) / HEIGHT,
        )

    answer = client.post(
        f"/v0.7/recognition/versions/{direct_version}/inference?wait=5",
        headers=admin,
        json={
            "inputs": [
                {"image": {"source": "data:image/png;base64," + _base64_png(), "bbox": bbox}}
            ],
            "show_discarded": True,
        },
    )
    expected = _expected(
        _direct_candidates(), [0.5, 0.5], 0.5, show_discarded=True, to_image=to_image
    )
    _check(answer.json(), expected)


def _base64_png() -> str:
    import base64

    import cv2

    return base64.b64encode(cv2.imencode(".png", IMAGE)[1].tobytes()).decode()


def test_anchored_output_pixels_background_exclusive_and_a_polygon(client, admin, tmp_path):
    # Three anchors in pixels of the 16x16 input; scores with the background column first.
    anchors = np.array([[2, 2, 8, 8], [3, 3, 9, 9], [8, 8, 14, 12]], float)
    offsets = np.array([[0, 0, 0, 0], [0.05, 0.05, 0, 0], [0.5, 0, math.log(0.5), 0]], float)
    scores = np.array([[0.05, 0.9, 0.05], [0.1, 0.2, 0.7], [0.2, 0.55, 0.25]])
    files = onnx_constant_outputs(
        tmp_path, {"anchors": anchors, "offsets": offsets, "scores": scores}
    )
    network = deploy(client, admin, files)
    spec = create_spec(client, admin, labels("car", "person", first_id=1), "BBOX", exclusive=True)
    detection = {
        "thresholds": [0.6, 0.6],
        "nms_threshold": 0.3,
        "anchored_output": {
            "anchors_tensor": "anchors",
            "offsets_tensor": "offsets",
            "scores_tensor": "scores",
        },
    }
    version = create_version(client, admin, spec["id"], network, {"detection": detection})
    candidates = []
    for index, ((ax0, ay0, ax1, ay1), (dx, dy, dw, dh), row) in enumerate(
        zip(anchors, offsets, scores, strict=True)
    ):
        w, h = ax1 - ax0, ay1 - ay0
        box = centre_box(
            ax0 + w / 2 + dx * w, ay0 + h / 2 + dy * h, w * math.exp(dw), h * math.exp(dh)
        )
        best = int(np.argmax(row[1:]))  # exclusive: each box's best label only
        candidates.append((best, float(row[1 + best]), tuple(v / 16 for v in box), index))
    polygon = [{"x": 0.5, "y": 0.1}, {"x": 1.0, "y": 0.4}, {"x": 0.6, "y": 1.0}]
    # The polygon's bounding box: pixels x 20..40, y 3..30 of the 40x30 image.
    x0, y0, x1, y1 = 20, 3, 40, 30

    def to_image(box: Box) -> Box:
        return (
            (x0 + box[0] * (x1 - x0)) / WIDTH,
            (y0 + box[1] * (y1 - y0)) / HEIGHT,
            (x0 + box[2] * (x1 - x0)) / WIDTH,
            (y0 + box[3] * (y1 - y0)) / HEIGHT,
        )

    answer = client.post(
        f"/v0.7/recognition/versions/{version['id']}/inference?wait=5",
        headers=admin,
        json={
            "inputs": [
                {"image": {"source": "data:image/png;base64," + _base64_png(), "polygon": polygon}}
            ],
            "show_discarded": True,
        },
    )
    expected = _expected(candidates, [0.6, 0.6], 0.3, show_discarded=True, to_image=to_image)
    assert [row[1] for row in expected[0]] == [0.9, 0.7]  # different labels, both kept
    assert [row[1] for row in expected[1]] == [0.55]
    _check(answer.json(), expected)


def test_yolo_output_one_box_two_labels_share_a_region(client, admin, tmp_path):
    anchors = [1.0, 1.0, 0.5, 1.5]
    labels_count = 2
    rng = np.random.default_rng(7)
    grid = rng.normal(0, 0.5, (2, 2, 2 * (5 + labels_count)))
    grid[0, 1, 4] = 4.0  # cell (0, 1), anchor 0: objectness high, both labels likely
    grid[0, 1, 5:7] = [0.1, 0.0]
    grid[1, 0, 7 + 4] = 3.0  # cell (1, 0), anchor 1: one label
    grid[1, 0, 7 + 5 : 7 + 7] = [-2.0, 2.0]
    files = onnx_constant_outputs(tmp_path, {"region": grid})
    network = deploy(client, admin, files)
    spec = create_spec(client, admin, labels("car", "person", first_id=1), roi="BBOX")
    detection = {
        "thresholds": [0.4, 0.4],
        "nms_threshold": 0.45,
        "yolo_output": {"output_tensor": "region", "anchors": anchors},
    }
    version = create_version(client, admin, spec["id"], network, {"detection": detection})
    candidates = []
    region = 0
    for row in range(2):
        for col in range(2):
            for b in range(2):
                tx, ty, tw, th, to, *logits = grid[row, col, b * 7 : (b + 1) * 7]
                box = centre_box(
                    (col + sigmoid(tx)) / 2,
                    (row + sigmoid(ty)) / 2,
                    anchors[2 * b] * math.exp(tw) / 2,
                    anchors[2 * b + 1] * math.exp(th) / 2,
                )
                exp = [math.exp(v) for v in logits]
                for label in range(labels_count):
                    score = sigmoid(to) * exp[label] / sum(exp)
                    candidates.append((label, score, box, region))
                region += 1

    def clipped(box: Box) -> Box:
        return tuple(min(max(value, 0.0), 1.0) for value in box)  # type: ignore[return-value]

    task = recognise(client, admin, f"versions/{version['id']}", IMAGE, show_discarded=True)
    expected = _expected(
        candidates, [0.4, 0.4], 0.45, show_discarded=True, max_predictions=100, to_image=clipped
    )
    regions = [row[3] for row in expected[0]]
    assert len(regions) == 3 and len(set(regions)) == 2  # two labels of one box, and one
    _check(task, expected)

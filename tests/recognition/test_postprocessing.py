"""The vectorised post-processing against plain-Python references, on candidates whose
answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.recognition.reference import centre_box, greedy_nms, sigmoid
from vulcain.errors import VulcainError
from vulcain.recognition import detection
from vulcain.recognition.postprocessing import (
    Hypotheses,
    classification,
    per_box,
    ranked_split,
    suppress,
)


def test_nms_matches_the_greedy_definition_on_many_random_boxes():
    rng = np.random.default_rng(3)
    count, labels = 3000, 4
    corners = rng.uniform(0, 0.8, (count, 2))
    sides = rng.uniform(0.05, 0.3, (count, 2))
    boxes = np.column_stack([corners, corners + sides])
    scores = rng.permutation(count) / count  # no ties
    label = rng.integers(0, labels, count)
    hypotheses = Hypotheses(label, scores, boxes, np.arange(count))
    for threshold in (0.0, 0.3, 0.5, 0.9):
        kept = suppress(hypotheses, threshold, needed=count)
        expected = greedy_nms(
            [(int(label[i]), float(scores[i]), tuple(boxes[i])) for i in range(count)], threshold
        )
        assert kept.scores.tolist() == [score for _, score, _ in expected]
        assert kept.labels.tolist() == [lab for lab, _, _ in expected]
        # Only the best few: the same first ones, however many are asked.
        few = suppress(hypotheses, threshold, needed=5)
        assert few.scores.tolist() == [score for _, score, _ in expected[:5]]


def test_classification_scores_by_position_and_the_split():
    scores = np.array([[0.05, 0.5, 0.01, 0.3, 0.14]], np.float32)
    hypotheses = classification(scores, 5, "prob")
    thresholds = np.array([0.1, 0.4, 0.0, 0.35, 0.1])
    predicted, discarded = ranked_split(hypotheses, thresholds, 4, True)
    # By score: 1 (0.5), 3 (0.3), 4 (0.14), 0 (0.05) | 2 (0.01, beyond the 4 kept).
    assert predicted.labels.tolist() == [1, 4]
    assert discarded.labels.tolist() == [3, 0]
    assert discarded.scores[0] == pytest.approx(0.3)
    predicted, discarded = ranked_split(hypotheses, thresholds, 4, False)
    assert discarded.labels.size == 0
    with pytest.raises(VulcainError, match="5 values"):
        classification(scores, 6, "prob")


def test_per_box_exclusive_keeps_each_box_best_label():
    boxes = np.array([[0, 0, 1, 1], [0, 0, 0.5, 0.5]], float)
    scores = np.array([[0.2, 0.7], [0.6, 0.1]])
    exclusive = per_box(boxes, scores, exclusive=True)
    assert exclusive.labels.tolist() == [1, 0] and exclusive.scores.tolist() == [0.7, 0.6]
    every = per_box(boxes, scores, exclusive=False)
    assert every.labels.tolist() == [0, 1, 0, 1]
    assert every.regions.tolist() == [0, 0, 1, 1]
    assert every.scores.tolist() == [0.2, 0.7, 0.6, 0.1]


def test_anchored_decoding_pixels_background_and_per_class_offsets():
    anchors = np.array([[[2, 2, 10, 6], [0, 8, 16, 16]]], float)  # pixels of a 16x16 input
    offsets = np.array([[[0.1, -0.2, math.log(2), 0.0], [0.0, 0.0, 0.0, math.log(0.5)]]])
    scores = np.array([[[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]]])  # background first
    boxes, found = detection.anchored(anchors, offsets, scores, 2, (16, 16), ("a", "o", "s"))
    np.testing.assert_allclose(found, [[0.6, 0.3], [0.2, 0.3]])
    # Anchor 0: centre (6, 4), size (8, 4) px -> (6 + 0.8, 4 - 0.8), size (16, 4).
    np.testing.assert_allclose(boxes[0], np.array(centre_box(6.8, 3.2, 16, 4)) / 16)
    # Anchor 1: centre (8, 12), size (16, 8) -> same centre, size (16, 4).
    np.testing.assert_allclose(boxes[1], np.array(centre_box(8, 12, 16, 4)) / 16)

    per_class = np.zeros((1, 2, 3 * 4))  # background, label 0, label 1
    per_class[0, 0, 8:12] = [0.5, 0, 0, 0]  # label 1 of anchor 0 moves right by half its width
    boxes, _ = detection.anchored(anchors, per_class, scores, 2, (16, 16), ("a", "o", "s"))
    assert boxes.shape == (2, 2, 4)
    np.testing.assert_allclose(boxes[0, 0], np.array([2, 2, 10, 6]) / 16)
    np.testing.assert_allclose(boxes[0, 1], np.array([6, 2, 14, 6]) / 16)


def test_anchored_ssd_prior_boxes_with_variances():
    priors = np.array([0.2, 0.2, 0.6, 0.4, 0.5, 0.5, 0.7, 0.9])
    variances = np.array([0.1, 0.1, 0.2, 0.2] * 2)
    prior_box = np.stack([priors, variances])[np.newaxis]  # (1, 2, 4N), as Caffe SSD
    offsets = np.array([[1.0, 2.0, math.log(2) / 0.2, 0.0, 0, 0, 0, 0]])
    scores = np.array([[0.9, 0.1, 0.2, 0.8]])  # (1, N * (L + 1)), flattened as mbox_conf
    boxes, found = detection.anchored(prior_box, offsets, scores, 1, (300, 300), ("a", "o", "s"))
    np.testing.assert_allclose(found, [[0.1], [0.8]])
    # Prior 0: centre (0.4, 0.3), size (0.4, 0.2); dx = 0.1 * 1, dy = 0.1 * 2, dw = log 2.
    np.testing.assert_allclose(boxes[0], centre_box(0.44, 0.34, 0.8, 0.2))
    np.testing.assert_allclose(boxes[1], [0.5, 0.5, 0.7, 0.9])


def test_direct_decoding_matches_label_ids_and_reorders_corners():
    boxes = np.array([[[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8], [0, 0, 0, 0]]])
    scores = np.array([[0.9, 0.8, 0.0]])
    classes = np.array([[3.0, 7.0, 0.0]])  # 7 is not a label of the spec
    found = detection.direct(boxes, scores, classes, np.array([5, 3, 0]), ("b", "s", "c"))
    assert found.labels.tolist() == [1, 2] and found.scores.tolist() == [0.9, 0.0]
    np.testing.assert_allclose(found.boxes[0], [0.2, 0.1, 0.4, 0.3])
    with pytest.raises(VulcainError, match="'s'"):
        detection.direct(boxes, scores[:, :2], classes, np.array([3]), ("b", "s", "c"))


@pytest.mark.parametrize("channels_first", [False, True])
def test_yolo_decoding_against_the_definition(channels_first):
    rows, cols, anchors, labels = 2, 3, [1.0, 2.0, 0.5, 0.5], 2
    rng = np.random.default_rng(5)
    grid = rng.normal(0, 1, (rows, cols, 2 * (5 + labels)))
    tensor = grid.transpose(2, 0, 1) if channels_first else grid
    boxes, scores = detection.yolo(tensor[np.newaxis], anchors, labels, "y")
    index = 0
    for row in range(rows):
        for col in range(cols):
            for b in range(2):
                tx, ty, tw, th, to, *logits = grid[row, col, b * 7 : (b + 1) * 7]
                x = (col + sigmoid(tx)) / cols
                y = (row + sigmoid(ty)) / rows
                w = anchors[2 * b] * math.exp(tw) / cols
                h = anchors[2 * b + 1] * math.exp(th) / rows
                np.testing.assert_allclose(boxes[index], centre_box(x, y, w, h))
                exp = [math.exp(v) for v in logits]
                expected = [sigmoid(to) * e / sum(exp) for e in exp]
                np.testing.assert_allclose(scores[index], expected)
                index += 1
    with pytest.raises(VulcainError, match="grid"):
        detection.yolo(np.zeros((1, 2, 3, 13)), anchors, labels, "y")


def test_per_box_with_a_box_per_label_and_thresholds_chosen_before_copying():
    boxes = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)  # (N=2, L=3, 4)
    scores = np.array([[0.9, 0.2, 0.6], [0.1, 0.7, 0.3]])
    every = per_box(boxes, scores, exclusive=False)
    assert every.regions.tolist() == [0, 1, 2, 3, 4, 5]  # each label's box is its own
    np.testing.assert_array_equal(every.boxes[4], boxes[1, 1])
    kept = per_box(boxes, scores, exclusive=False, thresholds=np.array([0.5, 0.5, 0.5]))
    assert list(zip(kept.regions.tolist(), kept.scores.tolist(), strict=True)) == [
        (0, 0.9),
        (2, 0.6),
        (4, 0.7),
    ]
    np.testing.assert_array_equal(kept.boxes[1], boxes[0, 2])
    best = per_box(boxes, scores, exclusive=True, thresholds=np.array([0.95, 0.5, 0.5]))
    assert best.labels.tolist() == [1] and best.scores.tolist() == [0.7]  # box 0's 0.9 < 0.95
    np.testing.assert_array_equal(best.boxes[0], boxes[1, 1])

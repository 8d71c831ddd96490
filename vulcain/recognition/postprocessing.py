"""From candidates to predictions: thresholds, per-label non-maximum suppression, order
and cap. Pure numpy (and OpenCV's NMS), vectorised: nothing here loops over candidates.

A set of :class:`Hypotheses` holds one (label, score) per row and, for detections, the
box each row came from. Labels are positions in the output's ``labels`` list (score
column ``i`` belongs to ``labels[i]``), not label ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vulcain.errors import VulcainError

NMS_FIRST_PASS = 1024
"""Hypotheses suppressed at first; NMS goes further only when fewer than needed are kept."""


@dataclass(frozen=True)
class Hypotheses:
    labels: np.ndarray
    """``(K,)`` label positions."""
    scores: np.ndarray
    """``(K,)`` float64."""
    boxes: np.ndarray | None = None
    """``(K, 4)`` ``[xmin, ymin, xmax, ymax]``, relative; ``None`` for a classification."""
    regions: np.ndarray | None = None
    """``(K,)`` the candidate box each row came from (rows of one box share it)."""

    def take(self, rows: np.ndarray) -> Hypotheses:
        return Hypotheses(
            self.labels[rows],
            self.scores[rows],
            None if self.boxes is None else self.boxes[rows],
            None if self.regions is None else self.regions[rows],
        )


def classification(tensor: np.ndarray, label_count: int, name: str) -> Hypotheses:
    """One hypothesis per label: the tensor (batch dimension dropped) flattened, used as
    it is (no softmax)."""
    scores = np.asarray(tensor, dtype=np.float64).reshape(-1)
    if scores.size != label_count:
        raise VulcainError(
            f"output tensor {name!r} has {scores.size} values (shape {list(tensor.shape)}) "
            f"for the {label_count} labels of the spec: it needs one score per label, in the "
            "order of the labels (list a background label too if the network has one)."
        )
    return Hypotheses(np.arange(label_count), scores)


def per_box(
    boxes: np.ndarray,
    scores: np.ndarray,
    exclusive: bool,
    thresholds: np.ndarray | None = None,
) -> Hypotheses:
    """Hypotheses of ``(N, 4)`` boxes (or one box per label, ``(N, L, 4)``) scored
    ``(N, L)``: each box's best label when ``exclusive``, else one hypothesis per (box,
    label). With ``thresholds``, only those reaching their label's threshold, chosen on the
    score matrix before any box is copied (most candidates of a detector are not)."""
    count, labels = scores.shape
    if exclusive:
        label = np.argmax(scores, axis=1)
        regions = np.arange(count)
        best = scores[regions, label]
        if thresholds is not None:
            regions = np.flatnonzero(best >= thresholds[label])
            label, best = label[regions], best[regions]
    elif thresholds is not None:
        regions, label = np.nonzero(scores >= thresholds)
        best = scores[regions, label]
    else:
        regions, label = np.divmod(np.arange(count * labels), labels)
        best = scores.reshape(-1)
    chosen = boxes[regions, label] if boxes.ndim == 3 else boxes[regions]
    if boxes.ndim == 3:  # each label's box is a box of its own
        regions = regions * labels + label
    return Hypotheses(label, best.astype(np.float64), chosen, regions)


def above(hypotheses: Hypotheses, thresholds: np.ndarray) -> Hypotheses:
    """The hypotheses whose score reaches their label's threshold."""
    return hypotheses.take(np.flatnonzero(hypotheses.scores >= thresholds[hypotheses.labels]))


def proper_boxes(hypotheses: Hypotheses) -> Hypotheses:
    """Drop rows whose box is not a box (a side not positive, or a coordinate not finite):
    padding rows of a fixed-size output, for instance."""
    boxes = hypotheses.boxes
    assert boxes is not None
    keep = (
        np.isfinite(boxes).all(axis=1)
        & np.isfinite(hypotheses.scores)
        & (boxes[:, 2] > boxes[:, 0])
        & (boxes[:, 3] > boxes[:, 1])
    )
    return hypotheses if keep.all() else hypotheses.take(np.flatnonzero(keep))


def suppress(hypotheses: Hypotheses, iou_threshold: float, needed: int) -> Hypotheses:
    """Greedy NMS per label: a box is dropped when its IoU with a higher-scored box of the
    same label that is kept exceeds ``iou_threshold``. The result is in decreasing score
    order and holds the ``needed`` best kept (all of them if fewer): whether a box is
    kept depends only on the boxes scored above it, so NMS runs on the best few first
    and goes further only while fewer than ``needed`` are kept."""
    order = np.argsort(-hypotheses.scores, kind="stable")
    ranked = hypotheses.take(order)
    total = order.size
    first = max(NMS_FIRST_PASS, 4 * needed)
    while True:
        head = ranked.take(np.arange(min(first, total)))
        kept = _nms(head, iou_threshold)
        if kept.size >= needed or first >= total:
            return head.take(kept[:needed])
        first *= 4


def _nms(ranked: Hypotheses, iou_threshold: float) -> np.ndarray:
    """Rows kept by OpenCV's per-label NMS of hypotheses in decreasing score order, in
    that order."""
    if ranked.scores.size == 0:
        return np.zeros(0, dtype=np.intp)
    boxes = ranked.boxes
    assert boxes is not None
    rects = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]]).astype(np.float64)
    # OpenCV sorts by these float32 scores; ties keep no particular order, so the rank
    # breaks them (a later row never outranks an earlier one).
    keys = np.arange(ranked.scores.size, 0, -1, dtype=np.float32)
    # OpenCV reads arrays where its stubs say sequences (lists would cost a copy per box).
    kept = cv2.dnn.NMSBoxesBatched(
        rects,  # type: ignore[arg-type]  # an (N, 4) float64 array of x, y, w, h
        keys,  # type: ignore[arg-type]  # an (N,) float32 array
        ranked.labels.astype(np.int32),  # type: ignore[arg-type]  # an (N,) int32 array
        0.0,
        float(iou_threshold),
    )
    return np.sort(np.asarray(kept, dtype=np.intp).reshape(-1))


def ranked_split(
    hypotheses: Hypotheses,
    thresholds: np.ndarray,
    max_predictions: int,
    show_discarded: bool,
    *,
    ordered: bool = False,
) -> tuple[Hypotheses, Hypotheses]:
    """``(predicted, discarded)``: the ``max_predictions`` best hypotheses (stable in
    decreasing score; ``ordered`` when they already are), those reaching their threshold
    first; the others are discarded, or dropped unless ``show_discarded``."""
    if ordered:
        best = np.arange(min(max_predictions, hypotheses.scores.size))
    else:
        best = np.argsort(-hypotheses.scores, kind="stable")[:max_predictions]
    reached = hypotheses.scores[best] >= thresholds[hypotheses.labels[best]]
    predicted = hypotheses.take(best[reached])
    discarded = best[~reached] if show_discarded else best[:0]
    return predicted, hypotheses.take(discarded)

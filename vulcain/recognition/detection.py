"""Decoding the three detection output kinds into candidate boxes, relative to the
network input, ``[xmin, ymin, xmax, ymax]``. Pure numpy, vectorised.

The layouts follow the networks that produce them (README, "Recognition"):

- ``anchored_output``, as Caffe SSD and Faster R-CNN lay it out: anchors ``(N, 4)``
  ``[xmin, ymin, xmax, ymax]`` (relative, or pixels of the network input when any value
  exceeds 1; ``(N, 5)`` rows of Faster R-CNN ``rois`` drop their leading image index;
  SSD's ``(2, 4N)`` prior boxes carry their variances in the second row); offsets
  ``[dx, dy, dw, dh]``, ``(N, 4)`` or per class ``(N, 4L)`` (``(N, 4(L+1))`` with a
  leading background class); scores ``(N, L)``, or ``(N, L+1)`` with background first.
- ``direct_output``, as the TensorFlow Object Detection API: boxes ``(N, 4)``
  ``[ymin, xmin, ymax, xmax]`` relative, scores ``(N,)``, classes ``(N,)`` holding label
  ids.
- ``yolo_output``, as YOLOv2's region layer: ``(S_h, S_w, B(5+L))`` (or channels first),
  each anchor's ``[tx, ty, tw, th, to, c_1..c_L]``, anchors in grid cells.
"""

from __future__ import annotations

import math

import numpy as np

from vulcain.errors import VulcainError
from vulcain.recognition.postprocessing import Hypotheses

MAX_LOG_SCALE = math.log(1000 / 16)
"""Largest ``dw``/``dh`` applied (Faster R-CNN's clip): ``exp`` of more is no box."""


def _shape_error(name: str, array: np.ndarray, expected: str) -> VulcainError:
    return VulcainError(
        f"output tensor {name!r} has shape {list(array.shape)}, which does not fit {expected}."
    )


def anchored(
    anchors_tensor: np.ndarray,
    offsets_tensor: np.ndarray,
    scores_tensor: np.ndarray,
    label_count: int,
    input_size: tuple[int, int],
    names: tuple[str, str, str],
) -> tuple[np.ndarray, np.ndarray]:
    """``(boxes, scores)``: boxes ``(N, 4)`` or per label ``(N, L, 4)``, scores ``(N, L)``."""
    anchors, variances = _anchors(anchors_tensor, names[0])
    count = anchors.shape[0]
    if anchors.size and anchors.max() > 1:
        width, height = input_size
        anchors = anchors / np.array([width, height, width, height], dtype=np.float64)
    offsets = np.asarray(offsets_tensor, dtype=np.float64).reshape(-1)
    per_label = {count * 4: 1, count * 4 * label_count: label_count}
    per_label.setdefault(count * 4 * (label_count + 1), label_count + 1)
    if offsets.size not in per_label or count == 0:
        raise _shape_error(
            names[1], np.asarray(offsets_tensor), f"{count} anchors (4 or 4 x labels per anchor)"
        )
    groups = per_label[offsets.size]
    deltas = offsets.reshape(count, groups, 4)
    if groups == label_count + 1:  # the background class's deltas come first
        deltas = deltas[:, 1:]
    scores = _scores(scores_tensor, count, label_count, names[2])
    widths = anchors[:, 2] - anchors[:, 0]
    heights = anchors[:, 3] - anchors[:, 1]
    centre_x = anchors[:, 0] + widths / 2
    centre_y = anchors[:, 1] + heights / 2
    deltas = deltas * variances[:, np.newaxis, :]
    new_x = centre_x[:, None] + deltas[..., 0] * widths[:, None]
    new_y = centre_y[:, None] + deltas[..., 1] * heights[:, None]
    new_w = widths[:, None] * np.exp(np.minimum(deltas[..., 2], MAX_LOG_SCALE))
    new_h = heights[:, None] * np.exp(np.minimum(deltas[..., 3], MAX_LOG_SCALE))
    boxes = np.stack(
        [new_x - new_w / 2, new_y - new_h / 2, new_x + new_w / 2, new_y + new_h / 2], axis=-1
    )
    return (boxes[:, 0] if boxes.shape[1] == 1 else boxes), scores


def _anchors(tensor: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Anchors ``(N, 4)`` and their variances ``(N, 4)`` (ones unless SSD's second row)."""
    array = np.asarray(tensor, dtype=np.float64)
    while array.ndim > 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 2 and array.shape[0] == 2 and array.shape[1] > 4 and array.shape[1] % 4 == 0:
        return array[0].reshape(-1, 4), array[1].reshape(-1, 4)
    if array.ndim >= 1 and array.shape[-1] == 5:
        anchors = array.reshape(-1, 5)[:, 1:]
    elif array.size % 4 == 0:
        anchors = array.reshape(-1, 4)
    else:
        raise _shape_error(name, array, "anchors [xmin, ymin, xmax, ymax]")
    return anchors, np.ones_like(anchors)


def _scores(tensor: np.ndarray, count: int, label_count: int, name: str) -> np.ndarray:
    scores = np.asarray(tensor, dtype=np.float64).reshape(-1)
    if scores.size == count * label_count:
        return scores.reshape(count, label_count)
    if scores.size == count * (label_count + 1):
        return scores.reshape(count, label_count + 1)[:, 1:]
    raise _shape_error(
        name, np.asarray(tensor), f"{count} anchors x {label_count} labels (+1 background)"
    )


def direct(
    boxes_tensor: np.ndarray,
    scores_tensor: np.ndarray,
    classes_tensor: np.ndarray,
    label_ids: np.ndarray,
    names: tuple[str, str, str],
) -> Hypotheses:
    """One hypothesis per row whose class is one of ``label_ids``; the others are dropped."""
    boxes = np.asarray(boxes_tensor, dtype=np.float64)
    if boxes.size % 4:
        raise _shape_error(names[0], boxes, "boxes [ymin, xmin, ymax, xmax]")
    boxes = boxes.reshape(-1, 4)[:, [1, 0, 3, 2]]
    count = boxes.shape[0]
    scores = np.asarray(scores_tensor, dtype=np.float64).reshape(-1)
    classes = np.asarray(classes_tensor).reshape(-1)
    if scores.size != count:
        raise _shape_error(
            names[1], np.asarray(scores_tensor), f"one score for each of {count} boxes"
        )
    if classes.size != count:
        raise _shape_error(
            names[2], np.asarray(classes_tensor), f"one class for each of {count} boxes"
        )
    # TensorFlow writes class ids as floats.
    ids = np.rint(classes).astype(np.int64) if classes.dtype.kind == "f" else classes
    order = np.argsort(label_ids, kind="stable")
    sorted_ids = label_ids[order]
    found = np.minimum(np.searchsorted(sorted_ids, ids), sorted_ids.size - 1)
    rows = np.flatnonzero(sorted_ids[found] == ids)
    return Hypotheses(order[found[rows]], scores[rows], boxes[rows], rows)


def yolo(
    tensor: np.ndarray, anchors: list[float], label_count: int, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """``(boxes (S_h S_w B, 4), scores (S_h S_w B, L))`` of a YOLOv2 region output."""
    array = np.asarray(tensor, dtype=np.float64)
    while array.ndim > 3 and array.shape[0] == 1:
        array = array[0]
    per_anchor = 5 + label_count
    count = len(anchors) // 2
    channels = count * per_anchor
    if array.ndim != 3:
        raise _shape_error(name, array, f"a grid (S_h, S_w, {channels})")
    if array.shape[-1] != channels:
        if array.shape[0] != channels:
            raise _shape_error(
                name, array, f"a grid (S_h, S_w, {count} anchors x (5 + {label_count} labels))"
            )
        array = array.transpose(1, 2, 0)
    rows, cols = array.shape[:2]
    grid = array.reshape(rows, cols, count, per_anchor)
    sides = np.asarray(anchors, dtype=np.float64).reshape(count, 2)
    col = np.arange(cols, dtype=np.float64)[None, :, None]
    row = np.arange(rows, dtype=np.float64)[:, None, None]
    centre_x = (col + _sigmoid(grid[..., 0])) / cols
    centre_y = (row + _sigmoid(grid[..., 1])) / rows
    width = sides[:, 0] * np.exp(np.minimum(grid[..., 2], MAX_LOG_SCALE)) / cols
    height = sides[:, 1] * np.exp(np.minimum(grid[..., 3], MAX_LOG_SCALE)) / rows
    boxes = np.stack(
        [centre_x - width / 2, centre_y - height / 2, centre_x + width / 2, centre_y + height / 2],
        axis=-1,
    )
    logits = grid[..., 5:]
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    scores = _sigmoid(grid[..., 4])[..., None] * exp / exp.sum(axis=-1, keepdims=True)
    return boxes.reshape(-1, 4), scores.reshape(-1, label_count)


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * values))

"""Plain-Python references the vectorised post-processing is checked against: written
from the definitions, one box at a time."""

from __future__ import annotations

import math
from collections.abc import Sequence

Box = tuple[float, float, float, float]


def iou(a: Box, b: Box) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def greedy_nms(
    candidates: Sequence[tuple[int, float, Box]], threshold: float
) -> list[tuple[int, float, Box]]:
    """(label, score, box) kept by greedy NMS per label, in decreasing score order."""
    kept: list[tuple[int, float, Box]] = []
    for label, score, box in sorted(candidates, key=lambda c: -c[1]):
        if all(other[0] != label or iou(other[2], box) <= threshold for other in kept):
            kept.append((label, score, box))
    return kept


def sigmoid(value: float) -> float:
    return 1 / (1 + math.exp(-value))


def centre_box(cx: float, cy: float, w: float, h: float) -> Box:
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)

"""Milliseconds of post-processing per request, on the candidates of real detection layouts.

Run: .venv/bin/python benchmarks/recognition.py [--repeats 5]

Each case is one request's tensors as the network would hand them over (random scores,
a few high ones), turned into the task's data (decoding, thresholds, per-label NMS, sort,
cap, JSON) by :func:`vulcain.recognition.results.recognition_data`, single thread. The
last columns: the greedy NMS of tests/recognition/reference.py, one box at a time in
Python, on the same candidates (those above threshold, or all with show_discarded), and
its time over the whole vectorised post-processing's.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from vulcain.inference.framing import IDENTITY
from vulcain.recognition.plan import RecognitionPlan, make_plan
from vulcain.recognition.results import _candidates, recognition_data
from vulcain.recognition.schemas import PostProcessing, SpecOutput

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.recognition.reference import greedy_nms


def best_ms(work: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def _plan(labels: int, step: dict[str, Any], *, show_discarded: bool) -> RecognitionPlan:
    output = SpecOutput.model_validate(
        {
            "labels": {
                "labels": [{"id": i, "name": f"label {i}"} for i in range(labels)],
                "roi": "BBOX" if "detection" in step else "NONE",
            }
        }
    )
    post = PostProcessing.model_validate(step)
    return make_plan([output], [post], show_discarded=show_discarded, max_predictions=100)


def _scores(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    scores = rng.uniform(0, 0.3, shape).astype(np.float32)
    hits = rng.random(shape) < 0.002
    scores[hits] = rng.uniform(0.5, 1.0, int(hits.sum()))
    return scores


def cases(rng: np.random.Generator) -> dict[str, tuple[RecognitionPlan, dict[str, np.ndarray]]]:
    """name: (plan, one request's tensors)."""
    anchors = 8732  # SSD300
    corners = rng.uniform(0, 0.8, (anchors, 2))
    priors = np.concatenate([corners, corners + rng.uniform(0.05, 0.2, (anchors, 2))], axis=1)
    ssd = {
        "priors": np.stack([priors.reshape(-1), np.tile([0.1, 0.1, 0.2, 0.2], anchors)])[None],
        "loc": rng.normal(0, 0.5, (1, anchors * 4)).astype(np.float32),
        "conf": _scores(rng, (1, anchors * 21)),
    }
    anchored = {
        "detection": {
            "thresholds": [0.5] * 20,
            "anchored_output": {
                "anchors_tensor": "priors",
                "offsets_tensor": "loc",
                "scores_tensor": "conf",
            },
        }
    }
    yolo = {"region": rng.normal(0, 2, (1, 13, 13, 5 * 85)).astype(np.float32)}
    yolo_step = {
        "detection": {
            "thresholds": [0.3] * 80,
            "yolo_output": {"output_tensor": "region", "anchors": [1.0, 1.0] * 5},
        }
    }
    imagenet = {"prob": _scores(rng, (1, 1001))}
    classification = {"classification": {"output_tensor": "prob"}}
    return {
        "classification 1001 labels": (
            _plan(1001, classification, show_discarded=True),
            imagenet,
        ),
        "SSD300 8732 anchors x 20 labels": (_plan(20, anchored, show_discarded=False), ssd),
        "SSD300, show_discarded": (_plan(20, anchored, show_discarded=True), ssd),
        "YOLOv2 13x13x5 x 80 labels": (_plan(80, yolo_step, show_discarded=False), yolo),
    }


def python_nms_ms(
    plan: RecognitionPlan, tensors: dict[str, np.ndarray], repeats: int
) -> float | None:
    """The greedy NMS alone, one box at a time, on the candidates above threshold."""
    output = plan.outputs[0]
    if output.post_processing.detection is None:
        return None
    thresholds = np.asarray(output.post_processing.thresholds)
    hypotheses = _candidates(output, tensors, IDENTITY, None if plan.show_discarded else thresholds)
    rows = [
        (int(label), float(score), tuple(box))
        for label, score, box in zip(
            hypotheses.labels, hypotheses.scores, hypotheses.boxes, strict=True
        )
    ]
    if len(rows) > 20_000:  # minutes in Python: measured on the first 20 000
        rows = sorted(rows, key=lambda row: -row[1])[:20_000]
    return best_ms(lambda: greedy_nms(rows, 0.5), max(1, repeats // 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'case':36} {'candidates':>11} {'ms/request':>11} {'Python NMS ms':>14} {'ratio':>8}")
    for name, (plan, tensors) in cases(rng).items():
        ms = best_ms(partial(recognition_data, plan, tensors, None), args.repeats)
        count = sum(array.size for array in tensors.values())
        slow = python_nms_ms(plan, tensors, args.repeats)
        shown = "-" if slow is None else f"{slow:.1f}"
        ratio = "-" if slow is None else f"{slow / ms:.1f}x"
        print(f"{name:36} {count:>11} {ms:>11.2f} {shown:>14} {ratio:>8}")


if __name__ == "__main__":
    main()

"""The ``data`` of a successful recognition task, encoded once as JSON:
``{"outputs": [{"labels": {"predicted": [...], "discarded": [...]}}]}``, one entry per
output of the spec. A prediction holds exactly ``label_id``, ``label_name``, ``score``
and ``threshold``, plus ``roi`` for an output whose ``roi`` is ``BBOX``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

from vulcain.inference.framing import IDENTITY, Framing
from vulcain.recognition import detection as decode
from vulcain.recognition.plan import PlannedOutput, RecognitionPlan
from vulcain.recognition.postprocessing import (
    Hypotheses,
    above,
    classification,
    per_box,
    proper_boxes,
    ranked_split,
    suppress,
)


def recognition_data(
    plan: RecognitionPlan, tensors: Mapping[str, np.ndarray], framing: Framing | None
) -> bytes:
    """The task data of ``plan`` run on one request's ``tensors``; boxes are mapped back
    to the image by ``framing``. Raises :class:`vulcain.errors.VulcainError` when a
    tensor does not fit its post-processing."""
    framing = framing or IDENTITY
    outputs = [_output(plan, output, tensors, framing) for output in plan.outputs]
    return orjson.dumps({"outputs": outputs})


def _output(
    plan: RecognitionPlan,
    output: PlannedOutput,
    tensors: Mapping[str, np.ndarray],
    framing: Framing,
) -> dict[str, Any]:
    step = output.post_processing
    thresholds = np.asarray(step.thresholds, dtype=np.float64)
    if step.classification is not None:
        name = step.classification.output_tensor
        hypotheses = classification(tensors[name], len(output.label_ids), name)
        predicted, discarded = ranked_split(
            hypotheses, thresholds, plan.max_predictions, plan.show_discarded
        )
    else:
        minimum = None if plan.show_discarded else thresholds
        hypotheses = _candidates(output, tensors, framing, minimum)
        assert step.detection is not None
        kept = suppress(hypotheses, step.detection.nms_threshold, plan.max_predictions)
        assert kept.boxes is not None
        kept = Hypotheses(kept.labels, kept.scores, framing.to_image(kept.boxes), kept.regions)
        predicted, discarded = ranked_split(
            kept, thresholds, plan.max_predictions, plan.show_discarded, ordered=True
        )
    if output.roi == "BBOX":
        region_ids = _region_ids(predicted, discarded)
        split = len(predicted.scores)
        return _labels(
            _boxed(output, predicted, thresholds, region_ids[:split]),
            _boxed(output, discarded, thresholds, region_ids[split:]),
        )
    return _labels(_plain(output, predicted, thresholds), _plain(output, discarded, thresholds))


def _candidates(
    output: PlannedOutput,
    tensors: Mapping[str, np.ndarray],
    framing: Framing,
    thresholds: np.ndarray | None,
) -> Hypotheses:
    """The candidates (label, score, box) of a detection, boxes relative to the input:
    every one, or those reaching ``thresholds``."""
    step = output.post_processing.detection
    assert step is not None
    label_count = len(output.label_ids)
    if step.direct_output is not None:
        names = (
            step.direct_output.boxes_tensor,
            step.direct_output.scores_tensor,
            step.direct_output.classes_tensor,
        )
        found = decode.direct(
            tensors[names[0]],
            tensors[names[1]],
            tensors[names[2]],
            np.asarray(output.label_ids, dtype=np.int64),
            names,
        )
        return proper_boxes(found if thresholds is None else above(found, thresholds))
    if step.anchored_output is not None:
        anchored = step.anchored_output
        names = (anchored.anchors_tensor, anchored.offsets_tensor, anchored.scores_tensor)
        boxes, scores = decode.anchored(
            tensors[names[0]],
            tensors[names[1]],
            tensors[names[2]],
            label_count,
            (framing.input_width, framing.input_height),
            names,
        )
    else:
        assert step.yolo_output is not None
        name = step.yolo_output.output_tensor
        boxes, scores = decode.yolo(tensors[name], step.yolo_output.anchors, label_count, name)
    return proper_boxes(per_box(boxes, scores, output.exclusive, thresholds))


def _region_ids(predicted: Hypotheses, discarded: Hypotheses) -> list[int]:
    """1, 2, ... over the distinct candidate boxes, in the order they are shown."""
    assert predicted.regions is not None and discarded.regions is not None
    regions = np.concatenate([predicted.regions, discarded.regions])
    if regions.size == 0:
        return []
    _, first, inverse = np.unique(regions, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(1, first.size + 1)
    numbers: list[int] = rank[inverse].tolist()
    return numbers


def _labels(predicted: list[dict[str, Any]], discarded: list[dict[str, Any]]) -> dict[str, Any]:
    return {"labels": {"predicted": predicted, "discarded": discarded}}


def _plain(
    output: PlannedOutput, chosen: Hypotheses, thresholds: np.ndarray
) -> list[dict[str, Any]]:
    return [
        {
            "label_id": output.label_ids[label],
            "label_name": output.label_names[label],
            "score": score,
            "threshold": threshold,
        }
        for label, score, threshold in zip(
            chosen.labels.tolist(),
            chosen.scores.tolist(),
            thresholds[chosen.labels].tolist(),
            strict=True,
        )
    ]


def _boxed(
    output: PlannedOutput, chosen: Hypotheses, thresholds: np.ndarray, region_ids: list[int]
) -> list[dict[str, Any]]:
    predictions = _plain(output, chosen, thresholds)
    assert chosen.boxes is not None
    for prediction, region_id, box in zip(
        predictions, region_ids, chosen.boxes.tolist(), strict=True
    ):
        xmin, ymin, xmax, ymax = box
        prediction["roi"] = {
            "region_id": region_id,
            "bbox": {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax},
        }
    return predictions

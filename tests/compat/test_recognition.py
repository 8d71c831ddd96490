"""The recognition flow with the official client, versions 0.9.4 and 1.0.0, unmodified:
the predictions are checked to the key, as the client's own test checks them, and against
scores computed here with numpy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.compat.conftest import CLASSIFIER_BIAS, CLASSIFIER_LABELS, CLASSIFIER_WEIGHTS
from tests.compat.official_client import RECOGNITION_SCRIPT, VERSIONS, run_flow
from tests.compat.test_deepomatic_api import _ok

PREDICTION_KEYS = {"label_id", "label_name", "score", "threshold"}


@pytest.fixture(scope="module", params=VERSIONS)
def flow(request, compat_server, compat_inputs) -> dict[str, Any]:
    return run_flow(request.param, compat_server, compat_inputs, RECOGNITION_SCRIPT)


def _scores(image_bgr: np.ndarray) -> np.ndarray:
    """What the classifier answers for the whole image: its channel means are those of
    the image resized to the 8x6 input, which for these weights is close enough to the
    image's own that the order of the labels is that of the scores computed here."""
    import cv2

    resized = cv2.resize(image_bgr, (8, 6), interpolation=cv2.INTER_LINEAR).astype(np.float64)
    logits = resized.reshape(-1, 3).mean(axis=0) @ CLASSIFIER_WEIGHTS + CLASSIFIER_BIAS
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


def _strict(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Exactly ``{"outputs": [{"labels": {"predicted", "discarded"}}]}`` with exact keys."""
    assert list(data) == ["outputs"]
    (output,) = data["outputs"]
    assert list(output) == ["labels"]
    assert set(output["labels"]) == {"predicted", "discarded"}
    predictions = output["labels"]["predicted"] + output["labels"]["discarded"]
    for prediction in predictions:
        assert set(prediction) == PREDICTION_KEYS
        assert isinstance(prediction["label_id"], int)
        assert isinstance(prediction["label_name"], str)
        assert isinstance(prediction["score"], float)
        assert isinstance(prediction["threshold"], float)
    for prediction in output["labels"]["predicted"]:
        assert prediction["score"] >= prediction["threshold"]
    for prediction in output["labels"]["discarded"]:
        assert prediction["score"] < prediction["threshold"]
    return predictions


def test_create_spec_and_version_sets_current_version(flow):
    spec = _ok(flow, "create_spec")
    assert spec["current_version_id"] is None
    assert spec["outputs"][0]["labels"]["labels"][0] == {"id": 10, "name": "cat"}
    assert _ok(flow, "refused_current_on_create") == 400
    version = _ok(flow, "create_version")
    assert version["spec_id"] == spec["id"]
    assert version["post_processings"][0]["classification"]["thresholds"] == [0.025] * 4
    assert _ok(flow, "spec_after_version")["current_version_id"] == version["id"]


def test_spec_and_version_inference(flow, compat_inputs):
    scores = _scores(compat_inputs["image_bgr"])
    order = [int(i) for i in np.argsort(-scores)]
    shown = _strict(_ok(flow, "spec_inference"))
    assert [p["label_id"] for p in shown] == [10 + i for i in order[:3]]
    for prediction in shown:
        assert prediction["score"] == pytest.approx(scores[prediction["label_id"] - 10], abs=1e-3)
        assert prediction["label_name"] == CLASSIFIER_LABELS[prediction["label_id"] - 10]
    assert len(_ok(flow, "spec_inference")["outputs"][0]["labels"]["predicted"]) == 2
    hidden = _ok(flow, "spec_inference_hidden")
    _strict(hidden)
    assert hidden["outputs"][0]["labels"]["discarded"] == []
    predicted = [p["label_id"] for p in hidden["outputs"][0]["labels"]["predicted"]]
    assert predicted == [10 + i for i in order[:2]]
    every = _ok(flow, "version_inference")
    _strict(every)
    labels = every["outputs"][0]["labels"]
    ranked = sorted(labels["predicted"] + labels["discarded"], key=lambda p: -p["score"])
    assert [p["label_id"] for p in ranked] == [10 + i for i in order]
    assert labels["predicted"] == [p for p in ranked if p["score"] >= 0.025]
    assert len(_strict(_ok(flow, "version_inference_file"))) == 1
    _strict(_ok(flow, "inference_bbox"))
    empty = _ok(flow, "empty_inputs")
    assert empty["status_code"] == 400 and "error" in empty["body"]


def test_versions_switch_and_lists(flow):
    first, second = _ok(flow, "create_version"), _ok(flow, "create_second_version")
    assert _ok(flow, "list_versions") == [first["id"], second["id"]]
    assert {first["id"], second["id"]} <= set(_ok(flow, "list_all_versions"))
    assert _ok(flow, "switch_current_version")["current_version_id"] == second["id"]
    assert _ok(flow, "create_spec")["id"] in _ok(flow, "list_specs")


def test_public_spec_and_deletes(flow):
    assert _ok(flow, "publish") == 200
    slug = flow.get("public_retrieve", {}).get("id")
    assert slug and slug in _ok(flow, "public_list")
    public = _ok(flow, "public_retrieve")
    assert "current_version_id" not in public and public["outputs"]
    assert len(_strict(_ok(flow, "public_inference"))) == 3
    assert _ok(flow, "public_update_refused")["status_code"] == 403
    assert _ok(flow, "delete_version")["status_code"] == 404
    assert _ok(flow, "spec_after_delete")["current_version_id"] is None
    deleted = _ok(flow, "delete_spec")
    assert deleted == {
        "public": {"status_code": 404, "body": deleted["public"]["body"]},
        "private": {"status_code": 404, "body": deleted["private"]["body"]},
        "version": {"status_code": 404, "body": deleted["version"]["body"]},
    }

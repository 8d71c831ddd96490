"""Classification through the recognition API: a softmax network built here, its scores
computed independently with numpy from the colour of the image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.api.recognition_helpers import (
    API,
    create_spec,
    create_version,
    deploy,
    labels,
    recognise,
)
from tests.builders import onnx_channel_classifier

WEIGHTS = np.array(
    [[0.02, -0.01, 0.0, 0.01, -0.02], [0.0, 0.015, -0.01, 0.0, 0.005], [-0.01, 0.0, 0.02, 0.0, 0.0]]
)
BIAS = np.array([0.1, -0.2, 0.3, 0.0, -0.1])
NAMES = ("cat", "dog", "bird", "fish", "other")
COLOUR = (200, 40, 90)  # BGR


@pytest.fixture(scope="module")
def classifier_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return onnx_channel_classifier(tmp_path_factory.mktemp("classifier"), WEIGHTS, BIAS)


def expected_scores() -> np.ndarray:
    means = np.array(COLOUR, dtype=np.float64)  # BGR, scaled by 255 / 255
    logits = means @ WEIGHTS + BIAS
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


def image() -> np.ndarray:
    return np.full((20, 30, 3), COLOUR, dtype=np.uint8)


def test_classification_thresholds_order_cap_and_discarded(client, admin, classifier_files):
    network = deploy(client, admin, classifier_files)
    # Label ids differ from positions: results echo the id of the label at each position.
    spec = create_spec(client, admin, labels(*NAMES, first_id=100))
    scores = expected_scores()
    order = np.argsort(-scores)
    # Thresholds put the best and the third just below their score, the second just above.
    thresholds = [0.5] * 5
    thresholds[order[0]] = scores[order[0]] - 1e-3
    thresholds[order[1]] = scores[order[1]] + 1e-3
    thresholds[order[2]] = scores[order[2]] - 1e-3
    version = create_version(
        client,
        admin,
        spec["id"],
        network,
        {"classification": {"output_tensor": "prob", "thresholds": thresholds}},
    )
    assert (
        client.get(f"{API}/recognition/specs/{spec['id']}", headers=admin).json()[
            "current_version_id"
        ]
        == version["id"]
    )

    task = recognise(client, admin, f"versions/{version['id']}", image(), show_discarded=True)
    assert task["status"] == "success", task
    assert list(task["data"]) == ["outputs"]
    (output,) = task["data"]["outputs"]
    predicted, discarded = output["labels"]["predicted"], output["labels"]["discarded"]
    assert [p["label_id"] for p in predicted] == [100 + order[0], 100 + order[2]]
    assert [p["label_id"] for p in discarded] == [100 + i for i in order if i not in order[[0, 2]]]
    for prediction in predicted + discarded:
        assert set(prediction) == {"label_id", "label_name", "score", "threshold"}
        position = prediction["label_id"] - 100
        assert prediction["label_name"] == NAMES[position]
        assert prediction["score"] == pytest.approx(scores[position], rel=1e-5)
        assert prediction["threshold"] == pytest.approx(thresholds[position])
        assert isinstance(prediction["score"], float)
        assert isinstance(prediction["threshold"], float)

    capped = recognise(
        client, admin, f"specs/{spec['id']}", image(), show_discarded=True, max_predictions=2
    )
    labels_out = capped["data"]["outputs"][0]["labels"]
    assert [p["label_id"] for p in labels_out["predicted"]] == [100 + order[0]]
    assert [p["label_id"] for p in labels_out["discarded"]] == [100 + order[1]]

    hidden = recognise(client, admin, f"specs/{spec['id']}", image(), max_predictions=3)
    labels_out = hidden["data"]["outputs"][0]["labels"]
    assert [p["label_id"] for p in labels_out["predicted"]] == [100 + order[0], 100 + order[2]]
    assert labels_out["discarded"] == []


def test_default_thresholds_are_filled_in_and_a_wrong_tensor_fails_the_task(
    client, admin, classifier_files
):
    network = deploy(client, admin, classifier_files)
    spec = create_spec(client, admin, labels(*NAMES))
    version = create_version(
        client, admin, spec["id"], network, {"classification": {"output_tensor": "prob"}}
    )
    assert version["post_processings"] == [
        {"classification": {"output_tensor": "prob", "thresholds": [0.025] * 5}}
    ]
    assert version["spec_name"] == "spec" and version["network_name"] == "net"

    # A spec of 4 labels on the 5 scores of the network: the task says why it failed.
    short = create_spec(client, admin, labels(*NAMES[:4]), name="short")
    short_version = create_version(
        client, admin, short["id"], network, {"classification": {"output_tensor": "prob"}}
    )
    failed = recognise(client, admin, f"versions/{short_version['id']}", image())
    assert failed["status"] == "error" and failed["data"] is None
    assert "5 values" in failed["error"] and "4 labels" in failed["error"]

    missing = create_spec(client, admin, labels(*NAMES), name="missing")
    missing_version = create_version(
        client, admin, missing["id"], network, {"classification": {"output_tensor": "nope"}}
    )
    failed = recognise(client, admin, f"versions/{missing_version['id']}", image())
    assert failed["status"] == "error" and "nope" in failed["error"]

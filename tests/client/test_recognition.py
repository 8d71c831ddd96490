"""Vulcain's client and CLI on recognition, against a live server: specs, versions,
labels from a classifier whose scores are computed here with numpy."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from tests.builders import onnx_channel_classifier
from tests.client.identity import IDENTITY_PREPROCESSING
from vulcain.client import Client, ClientError, ImageInput, Network
from vulcain.client.cli import register

WEIGHTS = np.array([[0.02, 0.0, -0.01], [0.0, 0.02, 0.0], [-0.01, 0.0, 0.02]])
BIAS = np.array([0.0, -1.0, 1.0])
NAMES = ("red", "green", "blue")
COLOUR = (30, 60, 250)  # BGR


def _scores() -> np.ndarray:
    logits = np.array(COLOUR, float) @ WEIGHTS + BIAS
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


@pytest.fixture(scope="module")
def classifier(client: Client, tmp_path_factory: pytest.TempPathFactory) -> Network:
    files = onnx_channel_classifier(tmp_path_factory.mktemp("classifier"), WEIGHTS, BIAS)
    network = client.Network.create(
        name="colours", framework="onnx", preprocessing=IDENTITY_PREPROCESSING, files=files
    )
    network.deployment().wait(timeout=120)
    return network


@pytest.fixture(scope="module")
def image_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("colour") / "colour.png"
    cv2.imwrite(str(path), np.full((12, 16, 3), COLOUR, np.uint8))
    return path


def test_specs_versions_and_labels_through_the_client(client, classifier, image_path):
    labels = [{"id": 7 + index, "name": name} for index, name in enumerate(NAMES)]
    spec = client.RecognitionSpec.create(
        name="colours", outputs=[{"labels": {"labels": labels, "roi": "NONE"}}]
    )
    assert spec.current_version_id is None and isinstance(spec.id, int)
    version = client.RecognitionVersion.create(
        spec_id=spec.id,
        network_id=classifier.id,
        post_processings=[{"classification": {"output_tensor": "prob", "thresholds": [0.3] * 3}}],
    )
    assert spec.refresh().current_version_id == version.id
    scores = _scores()
    order = np.argsort(-scores)

    uploaded = version.inference(
        [ImageInput(image_path.read_bytes(), encoding="binary")], show_discarded=True
    )
    shown = uploaded["outputs"][0]["labels"]
    ranked = shown["predicted"] + shown["discarded"]
    assert [p["label_id"] for p in ranked] == [7 + i for i in order if scores[i] >= 0.3] + [
        7 + i for i in order if scores[i] < 0.3
    ]
    for prediction in ranked:
        assert prediction["score"] == pytest.approx(scores[prediction["label_id"] - 7], rel=1e-5)

    capped = spec.inference([ImageInput(image_path.read_bytes(), "binary")], max_predictions=1)
    assert [p["label_name"] for p in capped["outputs"][0]["labels"]["predicted"]] == [
        NAMES[order[0]]
    ]
    assert capped["outputs"][0]["labels"]["discarded"] == []

    second = client.RecognitionVersion.create(
        spec_id=spec.id,
        network_id=classifier.id,
        post_processings=[{"classification": {"output_tensor": "prob"}}],
    )
    assert [v.id for v in spec.versions()] == [version.id, second.id]
    assert spec.update(current_version_id=second.id).current_version_id == second.id
    assert spec.update(current_version_id=None).current_version_id is None
    assert spec.id in [item.id for item in client.RecognitionSpec.list()]
    second.delete()
    with pytest.raises(ClientError) as raised:
        client.RecognitionVersion.retrieve(second.id)
    assert raised.value.status_code == 404
    spec.delete()
    with pytest.raises(ClientError):
        version.refresh()


def test_cli_creates_a_spec_and_a_version_and_prints_labels(server, classifier, image_path):
    import click

    @click.group()
    def vulcain() -> None:
        pass

    register(vulcain)
    runner = CliRunner()
    env = {"VULCAIN_URL": server.url, "VULCAIN_API_KEY": server.api_key}

    def run(*args: str) -> str:
        result = runner.invoke(vulcain, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    import json

    spec = json.loads(run("recognition", "specs", "create", "-n", "cli", "-l", ",".join(NAMES)))
    assert [label["name"] for label in spec["outputs"][0]["labels"]["labels"]] == list(NAMES)
    version = json.loads(
        run(
            "recognition",
            "versions",
            "create",
            "--spec",
            str(spec["id"]),
            "--network",
            str(classifier.id),
            "--classification",
            "prob",
        )
    )
    assert str(version["id"]) in run("recognition", "versions", "list")
    assert "cli" in run("recognition", "specs", "list")
    printed = run("infer", "--version", str(version["id"]), str(image_path), "--show-discarded")
    lines = printed.splitlines()
    assert lines[0] == str(image_path)
    scores = _scores()
    best = int(np.argmax(scores))
    assert lines[2].startswith(f"    {NAMES[best]} (id {best})  {scores[best]:.4f}")
    assert len(lines) == 2 + 3
    by_spec = run("infer", "--spec", str(spec["id"]), str(image_path))
    assert f"{NAMES[best]} (id {best})" in by_spec
    shown = json.loads(run("recognition", "specs", "show", str(spec["id"])))
    assert [v["id"] for v in shown["versions"]] == [version["id"]]
    run("recognition", "specs", "rm", str(spec["id"]))
    failed = runner.invoke(vulcain, ["recognition", "specs", "show", str(spec["id"])], env=env)
    assert failed.exit_code != 0 and "404" in failed.output + str(failed.exception)

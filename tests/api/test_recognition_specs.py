"""Recognition specs and versions over HTTP: objects, lists, edits, deletes, publishing,
cross-account 404s, and a clear 400 for each validation rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from tests.api.recognition_helpers import (
    API,
    create_spec,
    create_version,
    deploy,
    labels,
    png,
    recognise,
)
from tests.builders import onnx_channel_classifier, onnx_constant_outputs
from vulcain.db.models import InferenceRequestRow, TaskRow

SPECS = f"{API}/recognition/specs"
VERSIONS = f"{API}/recognition/versions"
CLASSIFY = {"classification": {"output_tensor": "prob"}}
DIRECT = {
    "detection": {
        "direct_output": {
            "boxes_tensor": "boxes",
            "scores_tensor": "scores",
            "classes_tensor": "classes",
        }
    }
}


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    weights = np.zeros((3, 3))
    return onnx_channel_classifier(tmp_path_factory.mktemp("cls"), weights, np.array([1, 2, 3]))


def _spec_body(**changes: Any) -> dict[str, Any]:
    body = {
        "name": "animals",
        "description": "three animals",
        "metadata": {"team": "a"},
        "outputs": [{"labels": {"labels": labels("cat", "dog", "cow"), "roi": "NONE"}}],
    }
    body.update(changes)
    return body


def test_spec_object_list_form_and_edits(client, admin):
    created = client.post(SPECS + "/", headers=admin, json=_spec_body())
    assert created.status_code == 201
    spec = created.json()
    assert set(spec) == {
        "id",
        "name",
        "description",
        "metadata",
        "update_date",
        "current_version_id",
        "outputs",
    }
    assert spec["current_version_id"] is None
    assert spec["outputs"] == [
        {"labels": {"labels": labels("cat", "dog", "cow"), "exclusive": False, "roi": "NONE"}}
    ]
    assert spec["update_date"].endswith("Z")

    listed = client.get(SPECS + "/?offset=0&limit=100", headers=admin).json()
    assert listed["count"] == 1
    assert "outputs" not in listed["results"][0]
    assert listed["results"][0]["id"] == spec["id"]

    patched = client.patch(
        f"{SPECS}/{spec['id']}/", headers=admin, json={"description": "edited", "name": "b"}
    )
    assert patched.status_code == 200
    assert patched.json()["description"] == "edited" and patched.json()["outputs"]
    assert patched.json()["update_date"] > spec["update_date"]

    no_name = client.put(f"{SPECS}/{spec['id']}", headers=admin, json={"description": "x"})
    assert no_name.status_code == 400 and no_name.json()["fields"] == {"name": "is required"}
    replaced = client.put(f"{SPECS}/{spec['id']}", headers=admin, json={"name": "c"})
    assert replaced.status_code == 200 and replaced.json()["name"] == "c"

    outputs = client.patch(f"{SPECS}/{spec['id']}", headers=admin, json={"outputs": []})
    assert outputs.status_code == 400 and outputs.json()["fields"] == {"outputs": "is immutable"}


def test_versions_current_version_and_deletes(client, admin, classifier):
    network = deploy(client, admin, classifier)
    spec = create_spec(client, admin, labels("a", "b", "c"))
    first = create_version(client, admin, spec["id"], network, CLASSIFY)
    second = create_version(client, admin, spec["id"], network, CLASSIFY)
    assert set(first) == {
        "id",
        "spec_id",
        "spec_name",
        "network_id",
        "network_name",
        "post_processings",
        "update_date",
    }
    current = client.get(f"{SPECS}/{spec['id']}", headers=admin).json()["current_version_id"]
    assert current == first["id"]  # the first version, not the later ones

    listed = client.get(f"{SPECS}/{spec['id']}/versions?offset=0&limit=100", headers=admin)
    assert [v["id"] for v in listed.json()["results"]] == [first["id"], second["id"]]
    assert client.get(VERSIONS + "/", headers=admin).json()["count"] == 2
    assert client.get(f"{VERSIONS}/{second['id']}/", headers=admin).json() == second
    assert client.patch(f"{VERSIONS}/{second['id']}", headers=admin, json={}).status_code == 405

    switched = client.patch(
        f"{SPECS}/{spec['id']}", headers=admin, json={"current_version_id": second["id"]}
    )
    assert switched.json()["current_version_id"] == second["id"]
    assert client.delete(f"{VERSIONS}/{second['id']}/", headers=admin).status_code == 204
    assert client.get(f"{SPECS}/{spec['id']}", headers=admin).json()["current_version_id"] is None
    no_current = client.post(
        f"{SPECS}/{spec['id']}/inference",
        headers=admin,
        json={"inputs": [{"image": {"source": "http://example.invalid/a.png"}}]},
    )
    assert no_current.status_code == 400
    assert "has no current version" in no_current.json()["error"]
    assert (
        client.patch(
            f"{SPECS}/{spec['id']}", headers=admin, json={"current_version_id": first["id"]}
        ).json()["current_version_id"]
        == first["id"]
    )
    other_spec = create_spec(client, admin, labels("a", "b", "c"), name="other")
    foreign = create_version(client, admin, other_spec["id"], network, CLASSIFY)
    refused = client.patch(
        f"{SPECS}/{spec['id']}", headers=admin, json={"current_version_id": foreign["id"]}
    )
    assert refused.status_code == 400
    assert refused.json()["fields"] == {"current_version_id": "not a version of this spec"}
    nulled = client.patch(f"{SPECS}/{spec['id']}", headers=admin, json={"current_version_id": None})
    assert nulled.json()["current_version_id"] is None

    assert client.delete(f"{SPECS}/{spec['id']}", headers=admin).status_code == 204
    assert client.get(f"{VERSIONS}/{first['id']}", headers=admin).status_code == 404
    assert [v["id"] for v in client.get(VERSIONS, headers=admin).json()["results"]] == [
        foreign["id"]
    ]


def test_deleting_a_network_deletes_its_versions_and_keeps_the_spec(client, admin, classifier):
    network = deploy(client, admin, classifier)
    other_network = deploy(client, admin, classifier, name="other")
    spec = create_spec(client, admin, labels("a", "b", "c"))
    doomed = create_version(client, admin, spec["id"], network, CLASSIFY)
    kept = create_version(client, admin, spec["id"], other_network, CLASSIFY)
    assert client.delete(f"{API}/networks/{network}", headers=admin).status_code == 204
    assert client.get(f"{VERSIONS}/{doomed['id']}", headers=admin).status_code == 404
    assert client.get(f"{VERSIONS}/{kept['id']}", headers=admin).status_code == 200
    after = client.get(f"{SPECS}/{spec['id']}", headers=admin).json()
    assert after["current_version_id"] is None


def test_another_account_gets_404_everywhere(client, admin, other, classifier):
    network = deploy(client, admin, classifier)
    spec = create_spec(client, admin, labels("a", "b", "c"))
    version = create_version(client, admin, spec["id"], network, CLASSIFY)
    inference = {"inputs": [{"image": {"source": "http://example.invalid/a.png"}}]}
    calls = [
        ("GET", f"{SPECS}/{spec['id']}", None),
        ("PATCH", f"{SPECS}/{spec['id']}", {"name": "mine"}),
        ("PUT", f"{SPECS}/{spec['id']}", {"name": "mine"}),
        ("DELETE", f"{SPECS}/{spec['id']}", None),
        ("GET", f"{SPECS}/{spec['id']}/versions", None),
        ("POST", f"{SPECS}/{spec['id']}/inference", inference),
        ("GET", f"{VERSIONS}/{version['id']}", None),
        ("DELETE", f"{VERSIONS}/{version['id']}", None),
        ("POST", f"{VERSIONS}/{version['id']}/inference", inference),
        ("GET", f"{SPECS}/abc", None),
        ("GET", f"{VERSIONS}/abc", None),
        ("GET", f"{API}/recognition/public/nothing", None),
    ]
    for method, url, body in calls:
        answer = client.request(method, url, headers=other, json=body)
        assert answer.status_code == 404, (method, url, answer.text)
        assert "error" in answer.json()
    assert client.get(SPECS, headers=other).json()["count"] == 0
    assert client.get(VERSIONS, headers=other).json()["count"] == 0
    # Nor can the other account build a version on them.
    theirs = create_spec(client, other, labels("a", "b", "c"))
    refused = client.post(
        VERSIONS,
        headers=other,
        json={"spec_id": theirs["id"], "network_id": network, "post_processings": [CLASSIFY]},
    )
    assert refused.status_code == 400 and "network_id" in refused.json()["fields"]
    refused = client.post(
        VERSIONS,
        headers=other,
        json={"spec_id": spec["id"], "network_id": network, "post_processings": [CLASSIFY]},
    )
    assert refused.status_code == 400 and "spec_id" in refused.json()["fields"]
    assert client.get(f"{SPECS}/{spec['id']}", headers=admin).json()["name"] == "spec"


def test_publish_then_anyone_reads_and_infers_by_slug(client, admin, other, classifier):
    network = deploy(client, admin, classifier)
    spec = create_spec(client, admin, labels("a", "b", "c"))
    publish = f"{SPECS}/{spec['id']}/publish"
    assert client.post(publish, headers=admin, json={"public_id": "animals"}).status_code == 400
    create_version(client, admin, spec["id"], network, CLASSIFY)
    assert client.post(publish, headers=other, json={"public_id": "x"}).status_code in (403, 404)
    assert client.post(publish, headers=admin, json={"public_id": "12"}).status_code == 400
    assert client.post(publish, headers=admin, json={"public_id": "animals"}).status_code == 200
    second = create_spec(client, admin, labels("a", "b", "c"), name="second")
    create_version(client, admin, second["id"], network, CLASSIFY)
    taken = client.post(
        f"{SPECS}/{second['id']}/publish", headers=admin, json={"public_id": "animals"}
    )
    assert taken.status_code == 400 and "already used" in taken.json()["error"]

    public = client.get(f"{API}/recognition/public/animals/", headers=other).json()
    assert public["id"] == "animals" and "current_version_id" not in public
    assert public["outputs"][0]["labels"]["labels"] == labels("a", "b", "c")
    listed = client.get(f"{API}/recognition/public/?offset=0&limit=100&public=1", headers=other)
    assert [item["id"] for item in listed.json()["results"]] == ["animals"]
    assert set(listed.json()["results"][0]) == {
        "id",
        "name",
        "description",
        "metadata",
        "update_date",
    }
    image = np.full((8, 8, 3), 100, np.uint8)
    task = recognise(client, other, "public/animals", image)
    assert task["status"] == "success"
    assert [p["label_name"] for p in task["data"]["outputs"][0]["labels"]["predicted"]] == [
        "c",
        "b",
        "a",
    ]
    assert client.get(f"{API}/recognition/public/animals/versions", headers=other).status_code == (
        404
    )
    assert (
        client.patch(
            f"{API}/recognition/public/animals", headers=other, json={"name": "x"}
        ).status_code
        == 403
    )
    assert client.delete(f"{API}/recognition/public/animals", headers=other).status_code == 403
    assert client.delete(f"{SPECS}/{spec['id']}", headers=admin).status_code == 409
    edited = client.patch(f"{API}/recognition/public/animals", headers=admin, json={"name": "z"})
    assert edited.status_code == 200 and edited.json()["id"] == "animals"
    assert client.delete(f"{API}/recognition/public/animals", headers=admin).status_code == 204
    assert client.get(f"{SPECS}/{spec['id']}", headers=admin).status_code == 404


LABEL_OUTPUT = {"labels": {"labels": labels("a", "b"), "roi": "NONE"}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outputs": [LABEL_OUTPUT]}, "name"),
        ({"name": "", "outputs": [LABEL_OUTPUT]}, "name"),
        ({"name": "  ", "outputs": [LABEL_OUTPUT]}, "name"),
        ({"name": "s"}, "outputs"),
        ({"name": "s", "outputs": []}, "outputs"),
        ({"name": "s", "outputs": [LABEL_OUTPUT], "metadata": [1]}, "metadata"),
        ({"name": "s", "outputs": [LABEL_OUTPUT], "current_version_id": 1}, "current_version_id"),
        ({"name": "s", "outputs": [LABEL_OUTPUT], "colour": 1}, "colour"),
        ({"name": "s", "outputs": [{"labels": {"labels": [], "roi": "NONE"}}]}, "outputs[0]"),
        ({"name": "s", "outputs": [{"labels": {"labels": labels("a")}}]}, "outputs[0]"),
        (
            {"name": "s", "outputs": [{"labels": {"labels": labels("a"), "roi": "MASK"}}]},
            "outputs[0]",
        ),
        (
            {
                "name": "s",
                "outputs": [{"labels": {"labels": [{"id": "x", "name": "a"}], "roi": "NONE"}}],
            },
            "outputs[0]",
        ),
        (
            {
                "name": "s",
                "outputs": [
                    {
                        "labels": {
                            "labels": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}],
                            "roi": "NONE",
                        }
                    }
                ],
            },
            "outputs[0]",
        ),
        ({"name": "s", "outputs": [{"text": {}}]}, "outputs[0]"),
        ({"name": "s", "outputs": [LABEL_OUTPUT], "description": "x" * 4097}, "description"),
        ({"name": "s", "outputs": [LABEL_OUTPUT], "metadata": {"big": "x" * 70000}}, "metadata"),
    ],
)
def test_each_spec_rule_is_a_400_naming_its_field(client, admin, body, field):
    answer = client.post(SPECS, headers=admin, json=body)
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert any(key.startswith(field) for key in error["fields"]), error
    assert error["error"]
    assert client.get(SPECS, headers=admin).json()["count"] == 0


def _detection(**changes: Any) -> dict[str, Any]:
    return {"detection": {**DIRECT["detection"], **changes}}


@pytest.mark.parametrize(
    ("post_processings", "field"),
    [
        ([], "post_processings"),
        ([CLASSIFY, CLASSIFY], "post_processings"),
        ([{}], "post_processings[0]"),
        ([{**CLASSIFY, **_detection()}], "post_processings[0]"),
        ([{"classification": {"output_tensor": ""}}], "post_processings[0].classification"),
        (
            [{"classification": {"output_tensor": "prob", "thresholds": [0.1]}}],
            "post_processings[0]",
        ),
        (
            [{"classification": {"output_tensor": "prob", "thresholds": [0.1, 0.2, "nan"]}}],
            "post_processings[0]",
        ),
        ([{"classification": {"output_tensor": "prob", "extra": 1}}], "post_processings[0]"),
        ([_detection()], "post_processings[0].detection"),  # detection on roi NONE
    ],
)
def test_each_version_rule_is_a_400_naming_its_field(
    client, admin, classifier, post_processings, field
):
    network = deploy(client, admin, classifier)
    spec = create_spec(client, admin, labels("a", "b", "c"))
    answer = client.post(
        VERSIONS,
        headers=admin,
        json={"spec_id": spec["id"], "network_id": network, "post_processings": post_processings},
    )
    assert answer.status_code == 400, answer.text
    assert any(key.startswith(field) for key in answer.json()["fields"]), answer.json()
    assert client.get(VERSIONS, headers=admin).json()["count"] == 0


@pytest.mark.parametrize(
    ("detection", "field"),
    [
        ({}, "post_processings[0].detection"),
        (
            {
                "direct_output": DIRECT["detection"]["direct_output"],
                "yolo_output": {"output_tensor": "y", "anchors": [1, 1]},
            },
            "post_processings[0].detection",
        ),
        (
            {**DIRECT["detection"], "nms_threshold": 1.5},
            "post_processings[0].detection.nms_threshold",
        ),
        ({"yolo_output": {"output_tensor": "y", "anchors": [1, 1, 1]}}, "post_processings[0]"),
        ({"yolo_output": {"output_tensor": "y", "anchors": [1, -1]}}, "post_processings[0]"),
        ({"yolo_output": {"output_tensor": "y", "anchors": []}}, "post_processings[0]"),
        ({"yolov3_output": {"output_tensor": "y"}}, "post_processings[0].detection"),
        (
            {"anchored_output": {"anchors_tensor": "a", "offsets_tensor": "o"}},
            "post_processings[0]",
        ),
        ({**DIRECT["detection"], "thresholds": [0.5]}, "post_processings[0].detection.thresholds"),
    ],
)
def test_each_detection_rule_is_a_400(client, admin, tmp_path, detection, field):
    network = deploy(client, admin, onnx_constant_outputs(tmp_path, {"boxes": np.zeros((1, 4))}))
    spec = create_spec(client, admin, labels("a", "b"), roi="BBOX")
    answer = client.post(
        VERSIONS,
        headers=admin,
        json={
            "spec_id": spec["id"],
            "network_id": network,
            "post_processings": [{"detection": detection}],
        },
    )
    assert answer.status_code == 400, answer.text
    assert any(key.startswith(field) for key in answer.json()["fields"]), answer.json()


def test_classification_on_a_bbox_output_and_bad_inference_bodies(client, admin, classifier):
    network = deploy(client, admin, classifier)
    boxed = create_spec(client, admin, labels("a", "b", "c"), roi="BBOX")
    answer = client.post(
        VERSIONS,
        headers=admin,
        json={"spec_id": boxed["id"], "network_id": network, "post_processings": [CLASSIFY]},
    )
    assert answer.status_code == 400
    assert "post_processings[0].classification" in answer.json()["fields"]

    spec = create_spec(client, admin, labels("a", "b", "c"))
    version = create_version(client, admin, spec["id"], network, CLASSIFY)
    url = f"{VERSIONS}/{version['id']}/inference"
    image = {"image": {"source": "http://example.invalid/a.png"}}
    for body, field in [
        ({"inputs": []}, "inputs"),
        ({"inputs": [image], "max_predictions": 0}, "max_predictions"),
        ({"inputs": [image], "show_discarded": "maybe"}, "show_discarded"),
        ({"inputs": [image], "output_tensors": ["prob"]}, "output_tensors"),
        ({"inputs": [{"video": {"source": "x"}}]}, "inputs[0]"),
        ({"inputs": [image, image]}, "inputs"),
    ]:
        answer = client.post(url, headers=admin, json=body)
        assert answer.status_code == 400, (body, answer.text)
        assert "error" in answer.json()
        assert any(key.startswith(field) for key in answer.json().get("fields", {field: 1})), (
            body,
            answer.json(),
        )


def _stored_requests(services) -> tuple[int, int]:
    """How many tasks, and how many stored inference requests, the database holds."""
    with services.db.session() as session:
        tasks = session.scalar(select(func.count()).select_from(TaskRow))
        requests = session.scalar(select(func.count()).select_from(InferenceRequestRow))
    return tasks, requests


def test_a_held_recognition_is_written_once_ended_and_a_bad_wait_creates_nothing(
    client, admin, services, classifier
):
    network = deploy(client, admin, classifier)
    spec = create_spec(client, admin, labels("a", "b", "c"))
    create_version(client, admin, spec["id"], network, CLASSIFY)
    tasks, requests = _stored_requests(services)
    image = np.full((8, 8, 3), 200, np.uint8)

    task = recognise(client, admin, f"specs/{spec['id']}", image)
    assert task["status"] == "success", task
    # One task more, already ended, and no copy of its request kept to run it again.
    assert _stored_requests(services) == (tasks + 1, requests)
    assert client.get(f"{API}/tasks/{task['id']}", headers=admin).json() == task

    refused = client.post(
        f"{API}/recognition/specs/{spec['id']}/inference?wait=soon",
        headers=admin,
        files={"inputs[0]image.source": ("image.png", png(image), "image/png")},
    )
    assert refused.status_code == 400 and "wait" in refused.json()["error"], refused.text
    assert _stored_requests(services) == (tasks + 1, requests)  # nothing was created

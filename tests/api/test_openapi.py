"""The OpenAPI document tells the truth: schemathesis sends every operation, inference and
create included, valid and invalid requests, and each answer is one the document lists."""

from __future__ import annotations

import json

from tests.api.conftest import ADMIN_KEY, PREPROCESSING
from tests.api.openapi_fuzz import fuzz
from vulcain.api.app import create_app

EXAMPLES_PER_OPERATION = 30


def test_every_operation_answers_as_the_openapi_document_says(
    client, admin, api_settings, services, onnx_files
):
    created = client.post(
        "/v0.7/networks",
        headers=admin,
        data={"name": "fuzzed", "framework": "onnx", "preprocessing": json.dumps(PREPROCESSING)},
        files={"model.onnx": ("model.onnx", onnx_files["model.onnx"].read_bytes())},
    ).json()
    assert (
        client.get(f"/v0.7/tasks/{created['task_id']}?wait=5", headers=admin).json()["status"]
        == "success"
    )
    client.post(f"/v0.7/networks/{created['id']}/publish", headers=admin, json={"public_id": "pub"})
    report = fuzz(
        create_app(api_settings, services),
        api_key=ADMIN_KEY,
        app_id=services.accounts.authenticate(ADMIN_KEY, None).app_id,
        network_id=created["id"],
        public_id="pub",
        task_id=created["task_id"],
        model=onnx_files["model.onnx"].read_bytes(),
        examples=EXAMPLES_PER_OPERATION,
    )
    assert len(report.cases) >= 17, report.cases
    # Each operation with parameters or a body got its 30 cases (the others have few).
    assert sum(count >= EXAMPLES_PER_OPERATION for count in report.cases.values()) >= 14
    assert report.total >= 300
    # Inference and create were accepted too, not only refused.
    for label, status in (
        ("POST /v0.7/networks/{network_id}/inference", 200),
        ("POST /v0.7/networks/public/{public_id}/inference", 200),
        ("POST /v0.7/networks", 201),
    ):
        assert report.statuses[(label, status)] > 0, report.statuses
    accepted = {label for (label, status), _ in report.statuses.items() if status == 200}
    # The Open Inference Protocol too: every /v2 operation, and inference ran.
    assert {label for label in report.cases if label.split()[1].startswith("/v2")} >= {
        "GET /v2/models/{name}",
        "POST /v2/models/{name}/infer",
    }
    assert "POST /v2/models/{name}/infer" in accepted, report.statuses
    assert "GET /v2/models/{name}" in accepted, report.statuses

"""Schemathesis over every operation of the OpenAPI document, against the app in process:
each generated request, valid or not, must answer something the document lists (status,
content type, body schema) and never a 5xx.

Shared by ``tests/api/test_openapi.py`` (a few hundred cases in every run) and
``benchmarks/fuzz_api.py`` (5,000 and more, with figures).

Image sources are only ``data:`` URIs (sent as text or as a file part): a URL would be
fetched, which the test does not want, and the address guard is tested elsewhere. The same
goes for the images of ``/v2`` (``BYTES`` elements in JSON are image sources); there half
of the bodies are replaced by well-formed requests (an image, or an FP32 tensor of the
identity network's shape), so that inference runs as often as it is refused.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import hypothesis
import numpy as np
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _png(side: int) -> bytes:
    pixels = np.random.default_rng(side).integers(0, 256, (side, side, 3), dtype=np.uint8)
    return bytes(cv2.imencode(".png", pixels)[1])


SOURCES = [
    "data:image/*;base64," + base64.b64encode(_png(8)).decode(),
    "data:image/png;base64," + base64.b64encode(_png(3)).decode(),
    "data:image/*;base64,bm90IGFuIGltYWdl",  # "not an image"
    "data:image/*;base64,%%%",
    "data:,",
    "data:text/plain;base64,",
]
"""What every ``source`` of a generated inference request is replaced by."""


VALID_INFERENCE = {"inputs": [{"image": {"source": SOURCES[0]}}], "output_tensors": ["out"]}
VALID_V2_INFER = {
    "inputs": [{"name": "data", "shape": [1, 3, 8, 8], "datatype": "FP32", "data": [0.5] * 192}]
}
"""A /v2 request the identity network answers: generated bodies seldom are one."""
VALID_CREATE = {
    "name": "fuzzed",
    "framework": "onnx",
    "preprocessing": {"inputs": [{"tensor_name": "data", "image": {"target_size": "8x8"}}]},
}


@dataclass
class FuzzReport:
    """What the run sent and got: cases and statuses by operation."""

    cases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.cases.values())


def _v2_body(body: dict[str, Any], pick: Callable[[], Any]) -> dict[str, Any]:
    """A generated ``/v2`` infer body with image sources among :data:`SOURCES`, or
    (``pick`` deciding) a well-formed request for the identity network."""
    choice = pick()
    if choice == "image":
        image = {"name": "data", "shape": [1], "datatype": "BYTES", "data": [SOURCES[0]]}
        return {"inputs": [image], "outputs": [{"name": "out"}]}
    if choice == "tensor":
        tensor = {"name": "data", "shape": [1, 3, 8, 8], "datatype": "FP32", "data": [0.5] * 192}
        return {"id": "fuzz", "inputs": [tensor]}
    for entry in body.get("inputs") or []:
        if isinstance(entry, dict) and entry.get("datatype") == "BYTES":
            entry["data"] = [SOURCES[3]] * len(entry["data"]) if entry.get("data") else None
    return body


def _replace_sources(value: Any, pick: Callable[[], str]) -> Any:
    if isinstance(value, dict):
        return {
            key: pick() if key == "source" else _replace_sources(item, pick)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_replace_sources(item, pick) for item in value]
    return value


def fuzz(
    app: Any,
    *,
    api_key: str,
    app_id: str,
    stranger_key: str,
    network_id: int,
    public_id: str,
    task_id: int,
    model: bytes,
    examples: int,
    seed: int = 0,
) -> FuzzReport:
    """Run about ``examples`` cases on each operation (valid and invalid data, half of
    them with the ids of a real network and task, some from the non-admin account of
    ``stranger_key``), raising at the first check that
    fails; then a tenth as many with a valid body on inference (a decodable image) and on
    create (``model``, an ONNX file taking ``data`` [N, 3, H, W]), which random data
    seldom or never is."""
    schema = schemathesis.openapi.from_asgi("/v0.7/openapi.json", app)
    report = FuzzReport()
    auth = {"X-API-KEY": api_key, "X-APP-ID": app_id}
    stranger = {"X-API-KEY": stranger_key}
    real_ids = {
        "network_id": str(network_id),
        "public_id": public_id,
        "task_id": str(task_id),
        "name": str(network_id),  # /v2/models/{name}
        "version": "1",
    }
    # Schemathesis sends a binary part without a filename, which makes it a text field:
    # the valid create sends its file itself, as clients do.
    create_form = {
        name: json.dumps(value) if isinstance(value, dict) else value
        for name, value in VALID_CREATE.items()
    }
    valid_bodies = {
        "/inference": ("application/json", VALID_INFERENCE, {}),
        "/infer": ("application/json", VALID_V2_INFER, {}),
        "/v0.7/networks": (
            "multipart/form-data",
            VALID_CREATE,
            {"data": create_form, "files": {"model.onnx": ("model.onnx", model)}},
        ),
    }
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        path_names = {parameter.name for parameter in operation.path_parameters}
        fixed = {name: value for name, value in real_ids.items() if name in path_names}
        if operation.method.upper() == "DELETE" or operation.path.endswith("/publish"):
            fixed = {}  # deleting or renaming the real network would leave it out of reach
        media_types = [body.media_type for body in operation.body] or [None]
        strategies = [
            operation.as_strategy(mode, headers=auth, path_parameters=ids, media_type=media)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            for ids in ({}, fixed)
            for media in media_types
        ]
        # Another, non-admin account on the real ids: what it may not see or change.
        strategies += [
            operation.as_strategy(headers=stranger, path_parameters=fixed, media_type=media)
            for media in media_types
        ]
        _run(label, strategies, examples, seed, report)
        for suffix, (media, body, sent) in valid_bodies.items():
            if operation.method.upper() == "POST" and operation.path.endswith(suffix):
                valid = operation.as_strategy(
                    headers=auth, path_parameters=fixed, body=body, media_type=media
                )
                _run(label, [valid], max(3, examples // 10), seed, report, sent)
    return report


def _run(
    label: str,
    strategies: list[Any],
    examples: int,
    seed: int,
    report: FuzzReport,
    sent: dict[str, Any] | None = None,
) -> None:
    @hypothesis.seed(seed)
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=st.one_of(strategies), data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        if isinstance(case.body, dict) and case.path.endswith("/infer"):
            choices = st.sampled_from(["generated", "image", "tensor"])
            case.body = _v2_body(case.body, lambda: data.draw(choices))
        elif isinstance(case.body, dict):  # inference, preprocess: no URL is ever fetched
            case.body = _replace_sources(case.body, lambda: data.draw(st.sampled_from(SOURCES)))
            if "output_tensors" in case.body and data.draw(st.booleans()):
                case.body["output_tensors"] = ["out"]  # the identity network's output
        response = case.call(**(sent or {}))
        report.cases[label] += 1
        report.statuses[(label, response.status_code)] += 1
        case.validate_response(response, checks=CHECKS)

    run()

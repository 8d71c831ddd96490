"""Encoding a stored inference request (images included) and the engine's view of a network."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import pybase64

from vulcain.db.models import NetworkRow
from vulcain.inference.network_spec import NetworkSpec
from vulcain.logs import current_request_id
from vulcain.recognition.plan import RecognitionPlan
from vulcain.schemas import InferenceRequest, Preprocessing

_BYTES = "$bytes"
_RECOGNITION = "$recognition"


@dataclass(frozen=True)
class InferenceWork:
    """An accepted inference task's work as the process that accepted it holds it: a
    queue running tasks in this process starts it without reading it back."""

    network: NetworkSpec
    request: InferenceRequest
    account_id: int
    name: str
    create_date: datetime
    request_id: str | None = field(default_factory=current_request_id)
    """The request that created the task (for its log lines), when one did."""
    recognition: RecognitionPlan | None = None
    """For a recognition inference, what turns the tensors into labels."""


def encode_request(request: InferenceRequest, recognition: RecognitionPlan | None = None) -> bytes:
    """The request (and the recognition plan) as bytes; binary image sources survive as
    base64."""
    body = request.model_dump(mode="python", exclude_defaults=True)
    if recognition is not None:
        body[_RECOGNITION] = recognition.model_dump(mode="json", exclude_none=True)
    for entry in body["inputs"]:
        image = entry["image"]
        if isinstance(image["source"], bytes):
            image["source"] = {_BYTES: pybase64.b64encode(image["source"]).decode("ascii")}
    return orjson.dumps(body)


def decode_request(data: bytes) -> tuple[InferenceRequest, RecognitionPlan | None]:
    body: dict[str, Any] = orjson.loads(data)
    plan = body.pop(_RECOGNITION, None)
    for entry in body["inputs"]:
        image = entry["image"]
        if isinstance(image["source"], dict):
            image["source"] = pybase64.b64decode(image["source"][_BYTES], validate=True)
    request = InferenceRequest.model_validate(body)
    return request, None if plan is None else RecognitionPlan.model_validate(plan)


def network_spec(row: NetworkRow) -> NetworkSpec:
    return NetworkSpec(
        id=row.id,
        framework=row.framework,
        preprocessing=Preprocessing.from_stored(row.preprocessing),
        files={file.name: file.sha256 for file in row.files},
    )

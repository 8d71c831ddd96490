"""Request and response bodies that exist only at the HTTP layer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vulcain.frameworks import FRAMEWORKS
from vulcain.schemas import NetworkUpdate, Preprocessing


class NetworkCreate(BaseModel):
    """The fields of ``POST /networks``; the network files travel beside them as multipart
    file parts named by their file name."""

    model_config = ConfigDict(extra="forbid")

    # Name length and framework are checked by NetworkService.create (for the CLI and the SDK
    # too); here they only describe the OpenAPI schema, so each rule has one sentence.
    name: str = Field(json_schema_extra={"minLength": 1, "maxLength": 255})
    description: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    framework: str = Field(json_schema_extra={"enum": list(FRAMEWORKS)})
    preprocessing: Preprocessing


IMMUTABLE_FIELDS = ("framework", "preprocessing")


class NetworkPatch(NetworkUpdate):
    """The body of ``PATCH /networks/{id}``: :class:`NetworkUpdate`, plus the immutable
    fields so that naming them gets a sentence saying why instead of "unknown field"."""

    framework: Any = None
    preprocessing: Any = None

    def immutable_fields_sent(self) -> list[str]:
        return [name for name in IMMUTABLE_FIELDS if name in self.model_fields_set]

    def changes(self) -> NetworkUpdate:
        # Fields read one by one rather than dumped: a dump recurses into metadata, which
        # the service has not checked yet (it may nest thousands of levels).
        sent = self.model_fields_set & set(NetworkUpdate.model_fields)
        return NetworkUpdate.model_validate({name: getattr(self, name) for name in sent})


class PublishRequest(BaseModel):
    """The body of ``POST /networks/{id}/publish``."""

    model_config = ConfigDict(extra="forbid")

    public_id: str = Field(min_length=1, max_length=255)


class TaskCreated(BaseModel):
    """The answer of an inference request: follow the task for the tensors."""

    task_id: int


class ErrorAnswer(BaseModel):
    """Every error: a sentence saying what is wrong and what to fix (``fields``: the
    invalid fields of a request body, by path)."""

    error: str
    fields: dict[str, str] | None = None


_ERROR_MEANINGS = {
    400: "The request cannot be run as sent",
    401: "Missing or unknown API key",
    404: "Nothing of that id among yours (or the public ones)",
    406: "The Accept header asks for a form this answer cannot take",
    409: "The task has no tensors yet, or failed",
    413: "An image or the body is too large",
    415: "The body's content type is not one of those taken",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of the errors a route may answer."""
    return {code: {"model": ErrorAnswer, "description": _ERROR_MEANINGS[code]} for code in codes}


class Health(BaseModel):
    status: str

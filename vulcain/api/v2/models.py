"""The Open Inference Protocol's JSON objects, as pydantic models (request validation and
the OpenAPI document)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

TensorData = list[Any] | None


class RequestInput(BaseModel):
    """An input tensor: ``BYTES`` (one encoded image per batch item) or ``FP32``."""

    name: str = Field(description="The network input's tensor_name.")
    shape: list[int] = Field(description="[N] or [N, 1] for BYTES; the tensor's for FP32.")
    datatype: str = Field(description="BYTES or FP32.")
    parameters: dict[str, Any] | None = Field(
        default=None,
        description='{"binary_data_size": n}: the tensor is the next n bytes after the JSON; '
        '{"content_type": "base64"}: BYTES elements in data are base64.',
    )
    data: TensorData = Field(
        default=None,
        description="Row-major values (flat or nested); BYTES elements are strings: an "
        "image URL, a data:image/... URI, or base64 with content_type base64.",
    )


class RequestOutput(BaseModel):
    name: str = Field(description="Any layer or tensor of the network.")
    parameters: dict[str, Any] | None = Field(
        default=None, description='{"binary_data": true}: answer it in binary after the JSON.'
    )


class InferRequest(BaseModel):
    """``POST /v2/models/{name}/infer``."""

    id: str | None = None
    parameters: dict[str, Any] | None = Field(
        default=None,
        description='{"binary_data_output": true}: every output in binary after the JSON.',
    )
    inputs: list[RequestInput] = Field(min_length=1)
    outputs: list[RequestOutput] | None = Field(
        default=None, description="None: the network's own outputs."
    )


class ResponseOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: dict[str, Any] | None = None
    data: TensorData = None


class InferResponse(BaseModel):
    model_name: str
    model_version: str | None = None
    id: str | None = None
    outputs: list[ResponseOutput]


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int] = Field(description="-1 for a dimension that varies (the batch).")


class ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class Live(BaseModel):
    live: bool


class Ready(BaseModel):
    ready: bool


class ModelReady(BaseModel):
    name: str
    ready: bool

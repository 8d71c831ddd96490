"""``POST /networks/{id}/preprocess``: the preprocessing dry-run.

It takes the body of an inference and answers, for each input, the tensor the network
would be fed, without running the network: the answer to "is it my preprocessing or my
network?". JSON by default (statistics and a PNG of each channel), or the tensors
themselves as NumPy files (:mod:`vulcain.api.tensors`).
"""

from __future__ import annotations

from typing import Any

import pybase64
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from vulcain.api.auth import AppServices, CurrentAccount
from vulcain.api.docs import request_body
from vulcain.api.ids import private_ref
from vulcain.api.models import error_responses
from vulcain.api.reading import read_body
from vulcain.api.responses import json_response
from vulcain.api.tensors import NPY, NPZ, binary_form, tensors_response
from vulcain.inference.inspection import describe_tensor
from vulcain.schemas import Account, InferenceRequest
from vulcain.services import Services

router = APIRouter(prefix="/networks", tags=["networks"])


class FedTensorSummary(BaseModel):
    """One tensor as the network would receive it (batch dimension included)."""

    name: str
    shape: list[int]
    dtype: str
    min: float | None
    max: float | None
    mean: float | None
    channels: list[str] = Field(
        description="A grey PNG of each channel of an image tensor, as a data: URI, "
        "stretched from the channel's minimum (black) to its maximum (white); empty for "
        "a tensor that is not an image (im_info)."
    )


class Preprocessed(BaseModel):
    """The inputs of the network, in order."""

    inputs: list[FedTensorSummary]


_RESPONSES: dict[int | str, dict[str, Any]] = {
    **error_responses(400, 401, 404, 406, 413, 415),
    200: {
        "description": "JSON by default; with Accept: application/x-npz, every tensor in one "
        ".npz file (named by input); with Accept: application/x-npy (or "
        "application/octet-stream), the one tensor of a one-input network as .npy.",
        "content": {
            NPZ: {"schema": {"type": "string", "format": "binary"}},
            NPY: {"schema": {"type": "string", "format": "binary"}},
        },
    },
}


async def _preprocess(
    request: Request, services: Services, account: Account, ref: int | str
) -> Response:
    form = binary_form(request)
    async with read_body(request, InferenceRequest) as body:
        inference = body.fields
    fed = await services.direct.preprocess(account, ref, inference)
    if form is not None:
        tensors = {item.name: item.tensor for item in fed}
        return tensors_response(tensors, form, f"network-{ref}-preprocessed")
    inputs = []
    for item in fed:
        summary = describe_tensor(item.tensor, item.dimension_order)
        summary["channels"] = [
            "data:image/png;base64," + pybase64.b64encode(png).decode("ascii")
            for png in summary["channels"]
        ]
        inputs.append({"name": item.name, **summary})
    return json_response({"inputs": inputs})


_SUMMARY = "Preprocess like an inference, and answer the tensors the network would receive"


@router.post(
    "/public/{public_id}/preprocess",
    response_model=Preprocessed,
    summary=_SUMMARY + " (public network)",
    responses=_RESPONSES,
    openapi_extra=request_body(InferenceRequest, files=True),
)
async def preprocess_public_network(
    public_id: str, request: Request, services: AppServices, account: CurrentAccount
) -> Response:
    return await _preprocess(request, services, account, public_id)


@router.post(
    "/{network_id}/preprocess",
    response_model=Preprocessed,
    summary=_SUMMARY,
    responses=_RESPONSES,
    openapi_extra=request_body(InferenceRequest, files=True),
)
async def preprocess_network(
    network_id: str, request: Request, services: AppServices, account: CurrentAccount
) -> Response:
    return await _preprocess(request, services, account, private_ref(network_id))

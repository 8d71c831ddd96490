"""``/v2``: the Open Inference Protocol (KServe v2, Triton's HTTP API) beside ``/v0.7``.

A second front end on the same networks, the same accounts and the same engine
(:class:`~vulcain.services.direct.DirectInference`): ``{name}`` is one of the caller's
network ids or a public slug (slugs are never only digits), authentication is v0.7's
``X-API-KEY``, and inference is synchronous, through the network's dynamic batcher.
Errors are ``{"error": "<sentence>"}`` like every other answer of Vulcain.

``POST .../infer`` is a plain Starlette route placed ahead of FastAPI's, as v0.7's
inference is (see :mod:`vulcain.api.routes.inference`); the FastAPI declarations below
document it and answer the same.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

import vulcain
from vulcain.api.auth import AppServices, CurrentAccount, request_account
from vulcain.api.ids import parse_id
from vulcain.api.models import ErrorAnswer, error_responses
from vulcain.api.responses import json_response
from vulcain.api.v2.codec import DATATYPES, HEADER_LENGTH, decode_infer, encode_infer
from vulcain.api.v2.models import (
    InferRequest,
    InferResponse,
    Live,
    ModelMetadata,
    ModelReady,
    Ready,
    ServerMetadata,
    TensorMetadata,
)
from vulcain.errors import NotFound, VulcainError
from vulcain.services import Services
from vulcain.services.direct import TensorInfo

PREFIX = "/v2"
TAG = "Open Inference Protocol (v2)"
EXTENSIONS = ["binary_tensor_data"]
VERSION = "1"
"""The one version of every network (a network never changes)."""


def model_ref(name: str) -> int | str:
    """The network ``{name}`` names: an integer id (the caller's), else a public slug."""
    if name.isascii() and name.isdigit():
        network_id = parse_id(name)
        if network_id is None:
            raise NotFound(f"There is no model {name!r} among yours.")
        return network_id
    return name


def _check_version(request: Request) -> None:
    version = request.path_params.get("version")
    if version is not None and version != VERSION:
        raise NotFound(f"Model versions are {VERSION!r} only; there is no version {version!r}.")


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def infer(request: Request) -> Response:
    """``POST /v2/models/{name}[/versions/{version}]/infer``."""
    _check_version(request)
    services = _services(request)
    account = await request_account(request)
    name = request.path_params["name"]
    ref = model_ref(name)
    decoded = decode_infer(await request.body(), request.headers.get(HEADER_LENGTH))
    direct = services.direct
    if decoded.images:
        outputs = await direct.infer_images(account, ref, decoded.images, decoded.outputs)
    else:
        outputs = await direct.infer_tensors(account, ref, decoded.tensors, decoded.outputs)
    body, header_length = encode_infer(name, decoded, outputs)
    if header_length is None:
        return Response(body, media_type="application/json")
    return Response(
        body,
        media_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(header_length)},
    )


def install(app: FastAPI) -> None:
    """Serve ``/v2`` (infer ahead of every FastAPI route) and document it."""
    served = [
        Route(f"{PREFIX}/models/{{name}}/infer", infer, methods=["POST"]),
        Route(f"{PREFIX}/models/{{name}}/versions/{{version}}/infer", infer, methods=["POST"]),
    ]
    app.router.routes[:0] = served
    app.include_router(router, prefix=PREFIX)


_ERRORS = error_responses(400, 401, 404)
router = APIRouter(tags=[TAG])


@router.get("", response_model=ServerMetadata, summary="Server metadata")
async def server_metadata() -> ServerMetadata:
    return ServerMetadata(name="vulcain", version=vulcain.__version__, extensions=EXTENSIONS)


@router.get("/health/live", response_model=Live, summary="Liveness: the process answers")
async def live() -> Live:
    return Live(live=True)


@router.get(
    "/health/ready",
    response_model=Ready,
    summary="Readiness: started and the database is reachable",
    responses={503: {"model": ErrorAnswer, "description": "Not ready"}},
)
async def ready(services: AppServices) -> Response:
    if await run_in_threadpool(services.ready):
        return json_response({"ready": True})
    return json_response(
        {"error": "Not ready: the service is starting or its database is unreachable"}, 503
    )


async def _metadata(request: Request, services: Services, name: str) -> ModelMetadata:
    _check_version(request)
    account = await request_account(request)
    described = await services.direct.describe(account, model_ref(name))

    def tensors(infos: list[TensorInfo]) -> list[TensorMetadata]:
        return [
            TensorMetadata(
                name=info.name, datatype=DATATYPES.get(info.dtype, "FP32"), shape=info.shape
            )
            for info in infos
        ]

    return ModelMetadata(
        name=name,
        versions=[VERSION],
        platform=described.target.network.framework,
        inputs=tensors(described.inputs),
        outputs=tensors(described.outputs),
    )


_METADATA = (
    "Model metadata: inputs (FP32 tensors as the preprocessing makes them; a BYTES tensor "
    "of encoded images under the same name is preprocessed first) and own outputs"
)


@router.get("/models/{name}", response_model=ModelMetadata, summary=_METADATA, responses=_ERRORS)
async def model_metadata(
    name: str, request: Request, services: AppServices, account: CurrentAccount
) -> ModelMetadata:
    return await _metadata(request, services, name)


@router.get(
    "/models/{name}/versions/{version}",
    response_model=ModelMetadata,
    summary=_METADATA + " (version 1)",
    responses=_ERRORS,
)
async def model_version_metadata(
    name: str, version: str, request: Request, services: AppServices, account: CurrentAccount
) -> ModelMetadata:
    return await _metadata(request, services, name)


async def _ready(request: Request, services: Services, name: str) -> Response:
    _check_version(request)
    account = await request_account(request)
    target = await services.direct.target(account, model_ref(name))
    try:
        services.direct.deployed(target)
    except VulcainError as error:
        return json_response({"error": error.message}, 400)
    return json_response({"name": name, "ready": True})


@router.get(
    "/models/{name}/ready",
    response_model=ModelReady,
    summary="Model readiness: deployed (400 while deploying or after a failed deployment)",
    responses=_ERRORS,
)
async def model_ready(
    name: str, request: Request, services: AppServices, account: CurrentAccount
) -> Response:
    return await _ready(request, services, name)


@router.get(
    "/models/{name}/versions/{version}/ready",
    response_model=ModelReady,
    summary="Model readiness (version 1)",
    responses=_ERRORS,
)
async def model_version_ready(
    name: str, version: str, request: Request, services: AppServices, account: CurrentAccount
) -> Response:
    return await _ready(request, services, name)


_INFER_BODY = {
    "requestBody": {
        "required": True,
        "description": "The JSON request; with the binary tensor extension, followed by the "
        "tensors' bytes (Inference-Header-Content-Length: the JSON's length).",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/InferRequest"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
_INFER_ANSWER: dict[int | str, dict[str, Any]] = {
    **error_responses(400, 401, 404, 413),
    200: {
        "description": "JSON; with binary outputs, the JSON then their bytes "
        "(Inference-Header-Content-Length: the JSON's length).",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
}


@router.post(
    "/models/{name}/infer",
    response_model=InferResponse,
    summary="Run inference (BYTES images or FP32 tensors; any layer in outputs)",
    responses=_INFER_ANSWER,
    openapi_extra=_INFER_BODY,
)
async def model_infer(name: str, request: Request, account: CurrentAccount) -> Response:
    return await infer(request)


@router.post(
    "/models/{name}/versions/{version}/infer",
    response_model=InferResponse,
    summary="Run inference (version 1)",
    responses=_INFER_ANSWER,
    openapi_extra=_INFER_BODY,
)
async def model_version_infer(
    name: str, version: str, request: Request, account: CurrentAccount
) -> Response:
    return await infer(request)


BODY_MODELS = (InferRequest,)

"""``/recognition``: specifications, versions, and inference that answers with labels.

Private specs and versions are addressed by integer id; published specs by slug under
``/recognition/public/{public_id}``, where the spec's ``id`` is the slug (the official
client builds later URLs from it, and picks the public paths for a string id).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from vulcain.api.auth import AppServices, CurrentAccount
from vulcain.api.docs import request_body
from vulcain.api.ids import parse_id
from vulcain.api.models import TaskCreated
from vulcain.api.pagination import Page, PageParams, make_page, page_params
from vulcain.api.reading import read_body
from vulcain.api.responses import json_response, task_response
from vulcain.api.routes.inference import accept_held, wait_parameter
from vulcain.errors import BadRequest, NotFound
from vulcain.recognition.schemas import (
    PublicSpec,
    PublicSpecSummary,
    PublishSpec,
    RecognitionInferenceRequest,
    Spec,
    SpecCreate,
    SpecPatch,
    SpecSummary,
    Version,
    VersionCreate,
)
from vulcain.schemas import Account
from vulcain.services import Services
from vulcain.tasks.views import TaskView

router = APIRouter(prefix="/recognition", tags=["recognition"])

_FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"description": "Only the spec's owner or an admin may do this"}
}

Pagination = Annotated[PageParams, Depends(page_params)]
_Handler = Callable[..., Coroutine[Any, Any, Any]]
BODY_MODELS = (SpecCreate, SpecPatch, PublishSpec, VersionCreate, RecognitionInferenceRequest)


def _spec_id(text: str) -> int:
    parsed = parse_id(text)
    if parsed is None:
        raise NotFound(
            f"There is no recognition spec {text!r} among yours: private specs have integer "
            f"ids; a public spec is at /v0.7/recognition/public/{text}."
        )
    return parsed


def _version_id(text: str) -> int:
    parsed = parse_id(text)
    if parsed is None:
        raise NotFound(f"There is no recognition version {text!r}: version ids are integers.")
    return parsed


# ---------------------------------------------------------------- specs


@router.get("/specs", response_model=Page[SpecSummary], summary="List your recognition specs")
async def list_specs(
    request: Request, services: AppServices, account: CurrentAccount, page: Pagination
) -> Page[Any]:
    count, specs = await run_in_threadpool(
        partial(
            services.recognition.list_specs,
            account,
            public=False,
            offset=page.offset,
            limit=page.limit,
        )
    )
    return make_page(request, page, count, specs)


@router.post(
    "/specs",
    status_code=201,
    response_model=Spec,
    summary="Create a recognition spec: the labels of each output",
    openapi_extra=request_body(SpecCreate),
)
async def create_spec(request: Request, services: AppServices, account: CurrentAccount) -> Spec:
    async with read_body(request, SpecCreate) as body:
        fields = body.fields
    return await run_in_threadpool(services.recognition.create_spec, account, fields)


@router.get("/specs/{spec_id}", response_model=Spec, summary="Retrieve one of your specs")
async def get_spec(spec_id: str, services: AppServices, account: CurrentAccount) -> Any:
    return await run_in_threadpool(services.recognition.get_spec, account, _spec_id(spec_id))


async def _update(
    request: Request, services: Services, account: Account, ref: int | str, *, replace: bool
) -> Any:
    async with read_body(request, SpecPatch) as body:
        patch = body.fields
    if "outputs" in patch.model_fields_set:
        raise BadRequest(
            "outputs cannot be changed once a spec is created; only name, description, "
            "metadata and current_version_id can be edited (create a new spec instead)",
            fields={"outputs": "is immutable"},
        )
    changes = patch.changes()
    if replace and changes.get("name") is None:
        raise BadRequest(
            "name: a PUT replaces the spec's editable fields and needs its name.",
            fields={"name": "is required"},
        )
    return await run_in_threadpool(services.recognition.update_spec, account, ref, changes)


@router.patch(
    "/specs/{spec_id}",
    response_model=Spec,
    summary="Edit name, description, metadata or current_version_id",
    openapi_extra=request_body(SpecPatch),
)
async def update_spec(
    spec_id: str, request: Request, services: AppServices, account: CurrentAccount
) -> Any:
    return await _update(request, services, account, _spec_id(spec_id), replace=False)


@router.put(
    "/specs/{spec_id}",
    response_model=Spec,
    summary="As PATCH, with the name required",
    openapi_extra=request_body(SpecPatch),
)
async def replace_spec(
    spec_id: str, request: Request, services: AppServices, account: CurrentAccount
) -> Any:
    return await _update(request, services, account, _spec_id(spec_id), replace=True)


@router.delete(
    "/specs/{spec_id}",
    status_code=204,
    summary="Delete a spec and its versions",
    responses={409: {"description": "The spec is published: delete it by its public path"}},
)
async def delete_spec(spec_id: str, services: AppServices, account: CurrentAccount) -> Response:
    await run_in_threadpool(services.recognition.delete_spec, account, _spec_id(spec_id))
    return Response(status_code=204)


@router.get(
    "/specs/{spec_id}/versions", response_model=Page[Version], summary="List a spec's versions"
)
async def list_spec_versions(
    spec_id: str,
    request: Request,
    services: AppServices,
    account: CurrentAccount,
    page: Pagination,
) -> Page[Version]:
    count, versions = await run_in_threadpool(
        partial(
            services.recognition.list_versions,
            account,
            spec_id=_spec_id(spec_id),
            offset=page.offset,
            limit=page.limit,
        )
    )
    return make_page(request, page, count, versions)


@router.post(
    "/specs/{spec_id}/publish",
    response_model=Spec,
    summary="Publish a spec under a public slug (admins only)",
    openapi_extra=request_body(PublishSpec),
    responses=_FORBIDDEN,
)
async def publish_spec(
    spec_id: str, request: Request, services: AppServices, account: CurrentAccount
) -> Spec:
    async with read_body(request, PublishSpec) as body:
        publish = body.fields
    return await run_in_threadpool(
        services.recognition.publish_spec, account, _spec_id(spec_id), publish.public_id
    )


# ---------------------------------------------------------------- public specs


@router.get(
    "/public", response_model=Page[PublicSpecSummary], summary="List public recognition specs"
)
async def list_public_specs(
    request: Request, services: AppServices, account: CurrentAccount, page: Pagination
) -> Page[Any]:
    count, specs = await run_in_threadpool(
        partial(
            services.recognition.list_specs,
            account,
            public=True,
            offset=page.offset,
            limit=page.limit,
        )
    )
    return make_page(request, page, count, specs)


@router.get("/public/{public_id}", response_model=PublicSpec, summary="Retrieve a public spec")
async def get_public_spec(public_id: str, services: AppServices, account: CurrentAccount) -> Any:
    return await run_in_threadpool(services.recognition.get_spec, account, public_id)


@router.patch(
    "/public/{public_id}",
    response_model=PublicSpec,
    summary="Edit a public spec (its owner or an admin)",
    openapi_extra=request_body(SpecPatch),
    responses=_FORBIDDEN,
)
async def update_public_spec(
    public_id: str, request: Request, services: AppServices, account: CurrentAccount
) -> Any:
    return await _update(request, services, account, public_id, replace=False)


@router.delete(
    "/public/{public_id}",
    status_code=204,
    summary="Delete a public spec (owner or admin)",
    responses=_FORBIDDEN,
)
async def delete_public_spec(
    public_id: str, services: AppServices, account: CurrentAccount
) -> Response:
    await run_in_threadpool(services.recognition.delete_spec, account, public_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- versions


@router.get("/versions", response_model=Page[Version], summary="List your recognition versions")
async def list_versions(
    request: Request, services: AppServices, account: CurrentAccount, page: Pagination
) -> Page[Version]:
    count, versions = await run_in_threadpool(
        partial(
            services.recognition.list_versions,
            account,
            spec_id=None,
            offset=page.offset,
            limit=page.limit,
        )
    )
    return make_page(request, page, count, versions)


@router.post(
    "/versions",
    status_code=201,
    response_model=Version,
    summary="Create a version: a spec bound to a network with a post-processing per output",
    openapi_extra=request_body(VersionCreate),
)
async def create_version(
    request: Request, services: AppServices, account: CurrentAccount
) -> Version:
    async with read_body(request, VersionCreate) as body:
        fields = body.fields
    return await run_in_threadpool(services.recognition.create_version, account, fields)


@router.get("/versions/{version_id}", response_model=Version, summary="Retrieve a version")
async def get_version(version_id: str, services: AppServices, account: CurrentAccount) -> Version:
    return await run_in_threadpool(
        services.recognition.get_version, account, _version_id(version_id)
    )


@router.delete("/versions/{version_id}", status_code=204, summary="Delete a version")
async def delete_version(
    version_id: str, services: AppServices, account: CurrentAccount
) -> Response:
    await run_in_threadpool(services.recognition.delete_version, account, _version_id(version_id))
    return Response(status_code=204)


# ---------------------------------------------------------------- inference


def _inference_route(path: str, summary: str) -> Callable[[_Handler], _Handler]:
    return router.post(
        path,
        summary=summary,
        response_model=TaskCreated,
        response_description="``{task_id}``; with ``wait``, the task object",
        openapi_extra=request_body(RecognitionInferenceRequest, files=True),
    )


async def _answer(
    request: Request,
    services: Services,
    account: Account,
    infer: Callable[[float | None], Coroutine[Any, Any, int | TaskView]],
) -> Any:
    """``{task_id}``, or with ``?wait=`` the task once ended (``wait`` is read before
    anything is created)."""
    wait = wait_parameter(request)
    if wait is None:
        task_id = await infer(None)
        assert isinstance(task_id, int)  # nothing is held without wait
        return json_response({"task_id": task_id})
    return task_response(await accept_held(services, account, wait, infer))


async def _inference_body(request: Request) -> RecognitionInferenceRequest:
    async with read_body(request, RecognitionInferenceRequest) as body:
        return body.fields


@_inference_route("/specs/{spec_id}/inference", "Recognise with a spec's current version")
async def infer_spec(
    spec_id: str, request: Request, services: AppServices, account: CurrentAccount
) -> Any:
    ref = _spec_id(spec_id)
    body = await _inference_body(request)
    infer = partial(services.recognition.infer_spec, account, ref, body)
    return await _answer(request, services, account, infer)


@_inference_route("/public/{public_id}/inference", "Recognise with a public spec")
async def infer_public_spec(
    public_id: str, request: Request, services: AppServices, account: CurrentAccount
) -> Any:
    body = await _inference_body(request)
    infer = partial(services.recognition.infer_spec, account, public_id, body)
    return await _answer(request, services, account, infer)


@_inference_route("/versions/{version_id}/inference", "Recognise with a version")
async def infer_version(
    version_id: str, request: Request, services: AppServices, account: CurrentAccount
) -> Any:
    ref = _version_id(version_id)
    body = await _inference_body(request)
    infer = partial(services.recognition.infer_version, account, ref, body)
    return await _answer(request, services, account, infer)

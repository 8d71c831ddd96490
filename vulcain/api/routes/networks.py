"""``/networks``: create, list, retrieve, edit, delete, publish, and infer.

Private networks are addressed by integer id under ``/networks/{id}``, published ones by
slug under ``/networks/public/{public_id}``; the service turns the reference into the
network the caller may see, or a 404. What the public paths answer is a
:class:`PublicNetwork`, whose ``id`` is the slug: a client that builds a network's URL from
its ``id`` (the official one does) then stays on the public paths.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from vulcain.api.auth import AppServices, CurrentAccount
from vulcain.api.docs import request_body
from vulcain.api.ids import private_ref
from vulcain.api.models import NetworkCreate, NetworkPatch, PublishRequest
from vulcain.api.pagination import Page, PageParams, make_page, page_params
from vulcain.api.reading import read_body
from vulcain.errors import BadRequest
from vulcain.schemas import Account, Network, PublicNetwork
from vulcain.services import Services

router = APIRouter(prefix="/networks", tags=["networks"])

_FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"description": "Only the network's owner or an admin may do this"}
}

Pagination = Annotated[PageParams, Depends(page_params)]

_FILE_HINT = (
    "; a network file must be sent as a file part named by its file name, "
    "e.g. curl -F deploy.prototxt=@/path/to/deploy.prototxt"
)


async def _list(
    services: Services, account: Account, page: PageParams, *, public: bool
) -> tuple[int, list[Network]]:
    return await run_in_threadpool(
        partial(
            services.networks.list, account, public=public, offset=page.offset, limit=page.limit
        )
    )


@router.get("", response_model=Page[Network], summary="List your networks")
async def list_networks(
    request: Request, services: AppServices, account: CurrentAccount, page: Pagination
) -> Page[Network]:
    count, networks = await _list(services, account, page, public=False)
    return make_page(request, page, count, networks)


@router.get("/public", response_model=Page[PublicNetwork], summary="List public networks")
async def list_public_networks(
    request: Request, services: AppServices, account: CurrentAccount, page: Pagination
) -> Page[PublicNetwork]:
    count, networks = await _list(services, account, page, public=True)
    return make_page(request, page, count, [PublicNetwork.of(network) for network in networks])


@router.post(
    "",
    status_code=201,
    response_model=Network,
    summary="Create a network from its files",
    openapi_extra=request_body(NetworkCreate, files=True),
)
async def create_network(
    request: Request, services: AppServices, account: CurrentAccount
) -> Network:
    async with read_body(
        request, NetworkCreate, accepts_files=True, unknown_hint=_FILE_HINT
    ) as body:
        fields = body.fields
        return await run_in_threadpool(
            partial(
                services.networks.create,
                account,
                name=fields.name,
                description=fields.description,
                metadata=fields.metadata,
                framework=fields.framework,
                preprocessing=fields.preprocessing,
                files=body.files,
            )
        )


async def _update(
    request: Request, services: Services, account: Account, ref: int | str
) -> Network:
    async with read_body(request, NetworkPatch) as body:
        patch = body.fields
    immutable = patch.immutable_fields_sent()
    if immutable:
        names = " and ".join(immutable)
        raise BadRequest(
            f"{names} cannot be changed once a network is created; only name, description "
            "and metadata can be edited (create a new network instead)",
            fields={name: "is immutable" for name in immutable},
        )
    return await run_in_threadpool(services.networks.update, account, ref, patch.changes())


@router.get(
    "/public/{public_id}", response_model=PublicNetwork, summary="Retrieve a public network"
)
async def get_public_network(
    public_id: str, services: AppServices, account: CurrentAccount
) -> PublicNetwork:
    return PublicNetwork.of(await run_in_threadpool(services.networks.get, account, public_id))


@router.patch(
    "/public/{public_id}",
    response_model=PublicNetwork,
    summary="Edit a public network (its owner or an admin)",
    openapi_extra=request_body(NetworkPatch),
    responses=_FORBIDDEN,
)
async def update_public_network(
    public_id: str, request: Request, services: AppServices, account: CurrentAccount
) -> PublicNetwork:
    return PublicNetwork.of(await _update(request, services, account, public_id))


@router.delete(
    "/public/{public_id}",
    status_code=204,
    summary="Delete a public network (owner or admin)",
    responses=_FORBIDDEN,
)
async def delete_public_network(
    public_id: str, services: AppServices, account: CurrentAccount
) -> Response:
    await run_in_threadpool(services.networks.delete, account, public_id)
    return Response(status_code=204)


@router.get("/{network_id}", response_model=Network, summary="Retrieve one of your networks")
async def get_network(network_id: str, services: AppServices, account: CurrentAccount) -> Network:
    return await run_in_threadpool(services.networks.get, account, private_ref(network_id))


@router.patch(
    "/{network_id}",
    response_model=Network,
    summary="Edit name, description or metadata",
    openapi_extra=request_body(NetworkPatch),
)
async def update_network(
    network_id: str, request: Request, services: AppServices, account: CurrentAccount
) -> Network:
    return await _update(request, services, account, private_ref(network_id))


@router.delete("/{network_id}", status_code=204, summary="Delete one of your networks")
async def delete_network(
    network_id: str, services: AppServices, account: CurrentAccount
) -> Response:
    await run_in_threadpool(services.networks.delete, account, private_ref(network_id))
    return Response(status_code=204)


@router.post(
    "/{network_id}/publish",
    response_model=Network,
    summary="Publish a network under a public slug (admins only)",
    openapi_extra=request_body(PublishRequest),
    responses=_FORBIDDEN,
)
async def publish_network(
    network_id: str, request: Request, services: AppServices, account: CurrentAccount
) -> Network:
    async with read_body(request, PublishRequest) as body:
        publish = body.fields
    return await run_in_threadpool(
        services.networks.publish, account, private_ref(network_id), publish.public_id
    )

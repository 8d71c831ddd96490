"""Who is calling: the ``X-API-KEY`` (and optional ``X-APP-ID``) headers, checked by the
account service; and the :class:`Services` of the app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from vulcain.errors import Unauthorized
from vulcain.schemas import Account
from vulcain.services import Services


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def authenticate(services: Services, api_key: str | None, app_id: str | None) -> Account:
    """The caller's account: from memory when this process knows the key, else from the
    database on a worker thread."""
    if not api_key:
        raise Unauthorized("Missing API key: send it in the X-API-KEY header.")
    account = services.accounts.remembered(api_key, app_id)
    if account is None:
        account = await run_in_threadpool(services.accounts.authenticate, api_key, app_id)
    return account


async def current_account(
    services: Annotated[Services, Depends(get_services)],
    x_api_key: Annotated[str | None, Header(description="Your API key.", alias="X-API-KEY")] = None,
    x_app_id: Annotated[
        str | None,
        Header(description="Your app id; checked against the key when sent.", alias="X-APP-ID"),
    ] = None,
) -> Account:
    return await authenticate(services, x_api_key, x_app_id)


async def request_account(request: Request) -> Account:
    """:func:`current_account` for a route that solves no dependency."""
    headers = request.headers
    return await authenticate(
        request.app.state.services, headers.get("x-api-key"), headers.get("x-app-id")
    )


CurrentAccount = Annotated[Account, Depends(current_account)]
AppServices = Annotated[Services, Depends(get_services)]

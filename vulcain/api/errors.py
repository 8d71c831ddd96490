"""Every error as ``{"error": "<sentence>"}`` (plus ``"fields"`` for validation errors).

One handler per kind: :class:`VulcainError` (its own status), request validation (400),
Starlette's ``HTTPException`` (unknown route, wrong method, unreadable multipart). Anything
else is caught by :class:`~vulcain.api.observe.RequestObserver`.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import Match

from vulcain.api.validation import describe
from vulcain.errors import VulcainError

logger = logging.getLogger("vulcain.api")

_REQUEST_PARTS = {"query", "path", "header", "cookie", "body"}


def error_response(
    status_code: int,
    sentence: str,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, object] = {"error": sentence}
    if fields:
        body["fields"] = fields
    return JSONResponse(body, status_code=status_code, headers=headers)


async def _vulcain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VulcainError)
    # A body refused before its end (too large, or stalled) leaves bytes in flight that
    # are no next request: close the connection after the answer.
    headers = {"Connection": "close"} if exc.status_code in (408, 413) else None
    return error_response(exc.status_code, exc.message, exc.fields, headers)


async def _request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {**error, "loc": tuple(error.get("loc", ()))[1:]}
        if tuple(error.get("loc", ()))[:1] and error["loc"][0] in _REQUEST_PARTS
        else error
        for error in exc.errors()
    ]
    sentence, fields = describe(errors)
    return error_response(400, sentence, fields)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    path = request.url.path
    if exc.status_code == 404 and exc.detail == "Not Found" and path.startswith("/v2/"):
        sentence = (
            f"There is no resource at {path}; the Open Inference Protocol is served under "
            "/v2 (see /v0.7/docs for every route)"
        )
    elif exc.status_code == 404 and exc.detail == "Not Found":
        sentence = (
            f"There is no resource at {path}; the API lives under /v0.7 "
            "(see /v0.7/docs for every route)"
        )
    elif exc.status_code == 405:
        allowed = _allowed_methods(request) or headers.get("Allow", "")
        headers = {"Allow": allowed} if allowed else {}
        sentence = f"{request.method} is not allowed on {path}"
        if allowed:
            sentence += f"; use {allowed}"
    else:
        detail = str(exc.detail)
        sentence = detail[:1].lower() + detail[1:]
        if exc.status_code == 400:
            sentence = f"The request body cannot be read: {sentence}"
    return error_response(exc.status_code, sentence, headers=headers or None)


CLIENT_CLOSED_REQUEST = 499
"""What access logs and metrics show for a request whose client went away before sending
its whole body (nginx's code: no answer reaches the client)."""


async def _client_disconnect(request: Request, exc: Exception) -> Response:
    logger.info(
        "%s %s: the client closed the connection before sending its whole body",
        request.method,
        request.url.path,
    )
    return Response(status_code=CLIENT_CLOSED_REQUEST)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ClientDisconnect, _client_disconnect)
    app.add_exception_handler(VulcainError, _vulcain_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(HTTPException, _http_error)

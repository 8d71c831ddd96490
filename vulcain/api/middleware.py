"""ASGI middleware of the API: optional trailing slash, body size and time limits (the outermost,
:class:`vulcain.api.observe.RequestObserver`, is in a module of its own).

Pure ASGI (no ``BaseHTTPMiddleware``) so that request bodies keep streaming.
"""

from __future__ import annotations

import asyncio

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vulcain.errors import PayloadTooLarge, RequestTimeout


class TrailingSlashMiddleware:
    """Serve ``/v0.7/networks/42/`` as ``/v0.7/networks/42``, with no redirect: a redirected
    multipart POST would lose its body, and existing clients always add the slash."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/"):
                # In place, as Starlette's router updates it: the outermost middleware reads
                # the route that served the request from this same scope.
                scope["path"] = path.rstrip("/") or "/"
                raw_path = scope.get("raw_path")
                if raw_path:
                    scope["raw_path"] = raw_path.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


class RequestBodyMiddleware:
    """Limits on reading a request body: answer 413 for one larger than ``max_bytes`` (at
    once from ``Content-Length``, else by counting the bytes of a streamed body and
    stopping the read as soon as it is over), and 408 when no byte of it arrives for
    ``read_timeout`` seconds (a client that never sends the body it announced would
    otherwise hold its connection and file descriptors forever)."""

    def __init__(self, app: ASGIApp, max_bytes: int, read_timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout

    def _sentence(self) -> str:
        return (
            f"The request body is larger than the limit of {self.max_bytes} bytes "
            "(VULCAIN_MAX_UPLOAD_BYTES)"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = JSONResponse(
                {"error": self._sentence()}, status_code=413, headers={"Connection": "close"}
            )
            await response(scope, receive, send)
            return
        received = 0
        complete = False

        async def limited_receive() -> Message:
            nonlocal received, complete
            if complete:  # what follows the body (a disconnect) may take any time
                return await receive()
            try:
                async with asyncio.timeout(self.read_timeout):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(
                    f"No byte of the request body arrived for {self.read_timeout:g} seconds "
                    "(VULCAIN_BODY_READ_TIMEOUT_SECONDS); send the body without pausing."
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(self._sentence())
                complete = not message.get("more_body", False)
            return message

        await self.app(scope, limited_receive, send)

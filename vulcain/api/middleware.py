"""ASGI middleware of the API: optional trailing slash, body size limit, last-resort 500.

Pure ASGI (no ``BaseHTTPMiddleware``) so that request bodies keep streaming.
"""

from __future__ import annotations

import logging

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vulcain.errors import PayloadTooLarge

logger = logging.getLogger("vulcain.api")


class TrailingSlashMiddleware:
    """Serve ``/v0.7/networks/42/`` as ``/v0.7/networks/42``, with no redirect: a redirected
    multipart POST would lose its body, and existing clients always add the slash."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/"):
                scope = dict(scope)
                scope["path"] = path.rstrip("/") or "/"
                raw_path = scope.get("raw_path")
                if raw_path:
                    scope["raw_path"] = raw_path.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


class BodySizeLimitMiddleware:
    """Answer 413 for a body larger than ``max_bytes``: at once from ``Content-Length``, and
    by counting the bytes of a streamed body (stopping the read as soon as it is over)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

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

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(self._sentence())
            return message

        await self.app(scope, counting_receive, send)


class UnhandledErrorMiddleware:
    """Turn an exception no handler knew into ``500 {"error": "internal error"}``; the
    traceback goes to the log only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await JSONResponse({"error": "internal error"}, status_code=500)(scope, receive, send)

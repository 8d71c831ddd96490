"""The outermost middleware: what is seen of every request.

Each request gets an id (the client's ``X-Request-ID`` when it sent a sane one, else a new
one), answered in ``X-Request-ID`` and carried by every log line written while serving
it; it is counted and timed in the HTTP metrics by route template (recorded when the
answer starts, before the client can see it); it ends with one access log line; and an
exception nothing else handled becomes ``500 {"error": "internal error"}``, its traceback
in the log only.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vulcain.logs import CURRENT_REQUEST, RequestContext
from vulcain.metrics import Metrics

logger = logging.getLogger("vulcain.api")
access_logger = logging.getLogger("vulcain.access")

REQUEST_ID = b"x-request-id"
_SANE_ID = re.compile(rb"^[A-Za-z0-9._:/+=-]{1,128}$")
UNMATCHED = "unmatched"
"""The route label of a request no route served (404)."""


class RequestObserver:
    def __init__(self, app: ASGIApp, metrics: Metrics | None, access_log: bool) -> None:
        self.app = app
        self._metrics = metrics
        self._access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request = RequestContext(_request_id(scope))
        token = CURRENT_REQUEST.set(request)
        status = 0

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((REQUEST_ID, request.request_id.encode("ascii")))
                message["headers"] = headers
                self._record(scope, status, started)
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except Exception:
            logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if status:
                raise
            answer = JSONResponse({"error": "internal error"}, status_code=500)
            await answer(scope, receive, observed_send)
        finally:
            if self._access_log:
                self._log(scope, request, status, started)
            CURRENT_REQUEST.reset(token)

    def _record(self, scope: Scope, status: int, started: float) -> None:
        if self._metrics is None:
            return
        method, route = scope["method"], _route(scope)
        self._metrics.http_requests.labels(method, route, str(status)).inc()
        self._metrics.http_seconds.labels(method, route).observe(time.perf_counter() - started)

    def _log(self, scope: Scope, request: RequestContext, status: int, started: float) -> None:
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        path = scope.get("path", "")
        access_logger.info(
            "%s %s %s %.2f ms",
            scope["method"],
            path,
            status or "-",
            duration_ms,
            extra={
                "method": scope["method"],
                "route": _route(scope),
                "status": status or None,
                "duration_ms": duration_ms,
            },
        )


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID:
            if _SANE_ID.match(value):
                return str(value.decode("ascii"))
            break
    return f"{_ids.getrandbits(64):016x}"


_ids = random.Random(os.urandom(16))
"""Request ids come from here, not from ``os.urandom`` per request: that call gives up the
GIL for its system call, and on a busy server the event loop then waited for another
thread to hand it back (a tenth of the loop's time on a near-free inference). An id only
needs to be unique, not unpredictable."""


def _route(scope: Scope) -> str:
    """The template of the route that served the request (``/v0.7/tasks/{task_id}``): its
    path with each path parameter's segment named back. A request no route served is
    ``unmatched``, so that the label's values stay bounded."""
    if "endpoint" not in scope:
        return UNMATCHED
    segments = scope["path"].split("/")
    for name, value in scope.get("path_params", {}).items():
        if value in segments:
            segments[segments.index(value)] = "{" + name + "}"
    return "/".join(segments)

"""The FastAPI application: HTTP only, every operation delegated to :class:`Services`.

``create_app()`` with no argument reads the settings from the environment and owns its
services (started and closed by the app's lifespan), so ``uvicorn --factory
vulcain.api.app:create_app`` works; tests and embedders pass their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

import vulcain
from vulcain.api.console import install_console
from vulcain.api.docs import install_docs
from vulcain.api.errors import install_error_handlers
from vulcain.api.middleware import RequestBodyMiddleware, TrailingSlashMiddleware
from vulcain.api.models import NetworkCreate, NetworkPatch, PublishRequest
from vulcain.api.observe import RequestObserver
from vulcain.api.routes import (
    accounts,
    health,
    inference,
    networks,
    preprocess,
    recognition,
    task_tensors,
    tasks,
)
from vulcain.api.routes.metrics import metrics_route
from vulcain.api.v2 import routes as v2
from vulcain.config import Settings
from vulcain.schemas import InferenceRequest
from vulcain.services import Services

API_PREFIX = "/v0.7"

OPENAPI_TAGS = [
    {
        "name": "networks",
        "description": "v0.7 (Deepomatic's Networks API): networks, their "
        "inference tasks and the preprocessing dry-run.",
    },
    {
        "name": "tasks",
        "description": "v0.7: deployment and inference tasks, their tensors as "
        "JSON or NumPy files.",
    },
    {"name": "accounts", "description": "v0.7: who you are."},
    {"name": "health", "description": "Liveness and readiness of the process."},
    {
        "name": v2.TAG,
        "description": "The Open Inference Protocol (KServe v2, Triton's HTTP "
        "API) with the binary tensor extension, on the same networks: {name} is one of your "
        "network ids or a public slug; X-API-KEY as for v0.7.",
    },
]

_BODY_MODELS = (
    NetworkCreate,
    NetworkPatch,
    InferenceRequest,
    PublishRequest,
    *v2.BODY_MODELS,
    *recognition.BODY_MODELS,
)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The Vulcain API. Without ``services``, builds them from ``settings`` (or from the
    environment) and starts and closes them with the app; given ``services`` are left to
    the caller to start and close."""
    owned: Services | None = None
    if services is None:
        settings = settings or Settings()
        services = owned = Services(settings)
    else:
        settings = settings or services.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owned is not None:
            await run_in_threadpool(owned.start)
        try:
            yield
        finally:
            if owned is not None:
                await run_in_threadpool(owned.close)

    app = FastAPI(
        title="Vulcain",
        version=vulcain.__version__,
        description="Deploy trained vision networks and run inference on them over HTTP.",
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # No OpenTelemetry: its checks cost a share of a near-free inference on every
        # request, and Vulcain configures no provider.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.services = services
    app.state.settings = settings
    inference.install(app, API_PREFIX)
    v2.install(app)
    routers = (networks.router, preprocess.router, recognition.router, task_tensors.router)
    for router in (*routers, tasks.router, accounts.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health.router)
    if services.metrics is not None and not settings.metrics_port:
        app.router.routes.append(metrics_route(services.metrics))
    install_docs(app, API_PREFIX, _BODY_MODELS)
    install_console(app)
    install_error_handlers(app)
    app.add_middleware(
        RequestBodyMiddleware,
        max_bytes=settings.max_upload_bytes,
        read_timeout=settings.body_read_timeout_seconds,
    )
    app.add_middleware(TrailingSlashMiddleware)
    app.add_middleware(RequestObserver, metrics=services.metrics, access_log=settings.access_log)
    return app

"""``/health`` (the process answers) and ``/ready`` (it can serve: database reachable)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from vulcain.api.auth import AppServices
from vulcain.api.models import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Liveness: the process answers")
async def health() -> Health:
    return Health(status="ok")


@router.get(
    "/ready",
    response_model=Health,
    summary="Readiness: started and the database is reachable",
    responses={503: {"description": "Not ready"}},
)
async def ready(services: AppServices) -> Health | JSONResponse:
    if await run_in_threadpool(services.ready):
        return Health(status="ready")
    return JSONResponse(
        {"error": "Not ready: the service is starting or its database is unreachable"},
        status_code=503,
    )

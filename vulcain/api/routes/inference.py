"""The inference path over HTTP: ``POST .../inference`` and ``GET /tasks/{id}``.

These endpoints are served by plain Starlette routes placed ahead of FastAPI's
(:func:`install`). On a near-free network FastAPI's per-request work (solving the
endpoint's parameters and dependencies) costs more than all the rest of an inference
request; these handlers read their few parameters themselves, with the same rules and
the same sentences. The FastAPI declarations of :data:`documented` are what the OpenAPI
document shows of them; they call the same handlers, so they would answer the same if
they were ever reached.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, FastAPI, Query, Request, Response
from starlette.routing import Route

from vulcain.api.auth import CurrentAccount, request_account
from vulcain.api.docs import request_body
from vulcain.api.ids import parse_id, private_ref
from vulcain.api.models import TaskCreated
from vulcain.api.reading import read_body
from vulcain.api.responses import json_response
from vulcain.api.tensors import NPY, NPZ, task_answer
from vulcain.errors import BadRequest, NotFound
from vulcain.logs import CURRENT_REQUEST
from vulcain.schemas import Account, InferenceRequest, Task
from vulcain.services import Services
from vulcain.tasks.views import TaskView

WAIT_INFERENCE = (
    "Hold the request until the task finishes, at most this many seconds (capped by "
    "VULCAIN_TASK_WAIT_MAX_SECONDS), and answer with the task object instead of its id: "
    "one request instead of two."
)
WAIT_TASK = (
    "Seconds to wait for a pending task to finish (long-poll), capped by the server's "
    "VULCAIN_TASK_WAIT_MAX_SECONDS."
)


def wait_parameter(request: Request) -> float | None:
    """The ``wait`` query parameter: seconds, at least 0; absent or empty is ``None``.
    Read straight from the query string (the last ``wait`` wins, as in Starlette's
    ``QueryParams``), which costs a tenth of building those."""
    text = None
    for pair in request.scope["query_string"].split(b"&"):
        name, _, value = pair.partition(b"=")
        if unquote_plus(name.decode("latin-1")) == "wait":
            text = unquote_plus(value.decode("latin-1"))
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        raise _bad_wait("must be a number") from None
    if not math.isfinite(seconds):
        raise _bad_wait("must be a finite number")
    if seconds < 0:
        raise _bad_wait("must be at least 0")
    return seconds


def _bad_wait(message: str) -> BadRequest:
    return BadRequest(f"wait: {message}", fields={"wait": message})


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def infer(request: Request) -> Response:
    """``POST /networks/{network_id}/inference`` and its public twin."""
    services = _services(request)
    account = await request_account(request)
    params = request.path_params
    ref = params["public_id"] if "public_id" in params else private_ref(params["network_id"])
    wait = wait_parameter(request)
    async with read_body(request, InferenceRequest) as body:
        inference = body.fields
    if wait is None:
        task_id = await services.networks.infer(account, ref, inference)
        _observe(task_id, ref)
        return json_response({"task_id": task_id})
    accept = partial(services.networks.infer_held, account, ref, inference)
    task = await accept_held(services, account, wait, accept)
    _observe(task.id, ref)
    return task_answer(request, task)


Accept = Callable[[float], Awaitable["int | TaskView"]]
"""Accepts an inference held for at most the given seconds: its task, if it ended within
them before its task was written, else the id of its task written pending."""


async def accept_held(
    services: Services, account: Account, wait: float, accept: Accept
) -> TaskView:
    """An inference accepted with ``?wait=``: counted among the account's held requests
    (refused before anything is created past the limit), then answered once it ended or
    the wait ran out, as a long-poll on its task would be."""
    with services.tasks.waiting(account):
        held = services.tasks.held_seconds(wait)
        began = time.monotonic()
        answered = await accept(held)
        if isinstance(answered, TaskView):  # ended before its task was written
            return answered
        left = max(0.0, held - (time.monotonic() - began))
        return await services.tasks.wait(account, answered, left)


def _observe(task_id: int, ref: int | str) -> None:
    observed = CURRENT_REQUEST.get()
    if observed is not None:  # for the access log line
        observed.task_id, observed.network = task_id, str(ref)


async def get_task(request: Request) -> Response:
    """``GET /tasks/{task_id}``, holding it with ``wait``."""
    services = _services(request)
    account = await request_account(request)
    text = request.path_params["task_id"]
    task_id = parse_id(text)
    if task_id is None:
        raise NotFound(f"There is no task {text!r} among yours: task ids are integers.")
    wait = wait_parameter(request)
    if wait:
        with services.tasks.waiting(account):
            return task_answer(request, await services.tasks.wait(account, task_id, wait))
    return task_answer(request, await services.tasks.get(account, task_id))


def install(app: FastAPI, prefix: str) -> None:
    """Serve the inference path ahead of every FastAPI route, and document it."""
    served = [
        Route(f"{prefix}/networks/public/{{public_id}}/inference", infer, methods=["POST"]),
        Route(f"{prefix}/networks/{{network_id}}/inference", infer, methods=["POST"]),
        Route(f"{prefix}/tasks/{{task_id}}", get_task, methods=["GET"]),
    ]
    app.router.routes[:0] = served
    app.include_router(documented, prefix=prefix)


documented = APIRouter()
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_TENSOR_FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "With Accept: application/x-npz (every tensor) or application/x-npy "
        "(the one tensor), a successful inference task answers its tensors as that NumPy "
        "file; otherwise, and for a task that is pending or failed, the JSON task object.",
        "content": {NPZ: _BINARY, NPY: _BINARY},
    },
    429: {
        "description": "With wait: the account already holds as many waiting requests as it "
        "may (VULCAIN_TASK_WAITS_PER_ACCOUNT); nothing was done"
    },
}
Wait = Annotated[float | None, Query(ge=0, description=WAIT_INFERENCE)]
_INFERENCE_ANSWER = "``{task_id}``; with ``wait``, the task object (finished or still pending)"


@documented.post(
    "/networks/public/{public_id}/inference",
    tags=["networks"],
    response_model=TaskCreated | Task,
    summary="Run inference on a public network",
    response_description=_INFERENCE_ANSWER,
    responses=_TENSOR_FILES,
    openapi_extra=request_body(InferenceRequest, files=True),
)
async def infer_public_network(
    public_id: str, request: Request, account: CurrentAccount, wait: Wait = None
) -> Response:
    return await infer(request)


@documented.post(
    "/networks/{network_id}/inference",
    tags=["networks"],
    response_model=TaskCreated | Task,
    summary="Run inference on one of your networks",
    response_description=_INFERENCE_ANSWER,
    responses=_TENSOR_FILES,
    openapi_extra=request_body(InferenceRequest, files=True),
)
async def infer_network(
    network_id: str, request: Request, account: CurrentAccount, wait: Wait = None
) -> Response:
    return await infer(request)


@documented.get(
    "/tasks/{task_id}",
    tags=["tasks"],
    response_model=Task,
    summary="Retrieve a task",
    responses=_TENSOR_FILES,
)
async def retrieve_task(
    task_id: str,
    request: Request,
    account: CurrentAccount,
    wait: Annotated[float | None, Query(ge=0, description=WAIT_TASK)] = None,
) -> Response:
    return await get_task(request)

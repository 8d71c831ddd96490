"""A finished inference task's tensors as NumPy files instead of JSON numbers.

Two ways to ask, one answer:

- ``Accept: application/x-npz`` (all tensors) or ``application/x-npy`` (the one tensor)
  on ``GET /tasks/{id}`` and ``POST .../inference?wait=``: a successful task answers the
  file; a pending or failed one answers the JSON task object as always (read the
  ``Content-Type``);
- ``GET /tasks/{id}/tensors.npz`` and ``GET /tasks/{id}/tensors/{name}.npy``, which
  answer the file or an error (409 for a task that is pending or failed).

A 1x1024x14x14 float32 tensor is 803 KB as ``.npy`` against about 4 MB of JSON text.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query, Response

from vulcain.api.auth import AppServices, CurrentAccount
from vulcain.api.ids import parse_id
from vulcain.api.models import error_responses
from vulcain.api.routes.inference import WAIT_TASK
from vulcain.api.tensors import NPY, NPZ, npy_response, npz_response
from vulcain.errors import NotFound, VulcainError
from vulcain.schemas import Account, TaskStatus
from vulcain.services import Services
from vulcain.tasks.results import decode_tensors

router = APIRouter(prefix="/tasks", tags=["tasks"])


class Conflict(VulcainError):
    status_code = 409


async def _finished(
    services: Services, account: Account, text: str, wait: float | None
) -> dict[str, np.ndarray]:
    task_id = parse_id(text)
    if task_id is None:
        raise NotFound(f"There is no task {text!r} among yours: task ids are integers.")
    if wait:
        task = await services.tasks.wait(account, task_id, wait)
    else:
        task = await services.tasks.get(account, task_id)
    if task.status == TaskStatus.PENDING:
        raise Conflict(
            f"Task {task_id} is still pending: ask again, or hold the request until it "
            "ends with ?wait=SECONDS."
        )
    if task.status == TaskStatus.ERROR:
        raise Conflict(f"Task {task_id} failed, so it has no tensors: {task.error}")
    tensors = None if task.data is None else decode_tensors(task.data)
    if tensors is None:
        raise NotFound(f"Task {task_id} is not an inference: it has no tensors.")
    return tensors


Wait = Annotated[float | None, Query(ge=0, description=WAIT_TASK)]
_BINARY = {"type": "string", "format": "binary"}


@router.get(
    "/{task_id}/tensors.npz",
    response_class=Response,
    summary="Download every tensor of a finished inference task as one .npz file",
    responses={
        **error_responses(400, 401, 404, 409),
        200: {"content": {NPZ: {"schema": _BINARY}}, "description": "numpy.load"},
    },
)
async def task_tensors_npz(
    task_id: str, services: AppServices, account: CurrentAccount, wait: Wait = None
) -> Response:
    tensors = await _finished(services, account, task_id, wait)
    return npz_response(tensors, f"task-{task_id}")


@router.get(
    "/{task_id}/tensors/{name:path}.npy",
    response_class=Response,
    summary="Download one tensor of a finished inference task as a .npy file",
    responses={
        **error_responses(400, 401, 404, 409),
        200: {"content": {NPY: {"schema": _BINARY}}, "description": "numpy.load"},
    },
)
async def task_tensor_npy(
    task_id: str, name: str, services: AppServices, account: CurrentAccount, wait: Wait = None
) -> Response:
    tensors = await _finished(services, account, task_id, wait)
    if name not in tensors:
        known = ", ".join(map(str, tensors))
        raise NotFound(f"Task {task_id} has no tensor {name!r}; it has: {known}.")
    return npy_response(tensors[name], f"task-{task_id}-{name.replace('/', '_')}")

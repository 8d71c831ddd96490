"""Tensors as NumPy files over HTTP: one as ``.npy``, several as ``.npz``.

A client chooses them with ``Accept``: ``application/x-npy`` (or
``application/octet-stream``) for one tensor, ``application/x-npz`` for all of them. Any
other ``Accept`` keeps the JSON answer, so existing clients see nothing new.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Literal

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

from vulcain.api.responses import task_response
from vulcain.errors import VulcainError
from vulcain.schemas import TaskStatus
from vulcain.tasks.results import decode_tensors
from vulcain.tasks.views import TaskView

NPY = "application/x-npy"
NPZ = "application/x-npz"
OCTET_STREAM = "application/octet-stream"

BinaryForm = Literal["npy", "npz"]
_FORMS: dict[str, BinaryForm] = {NPY: "npy", OCTET_STREAM: "npy", NPZ: "npz"}


class NotAcceptable(VulcainError):
    status_code = 406


def binary_form(request: Request) -> BinaryForm | None:
    """The NumPy form ``Accept`` asks for (the first one it names), else ``None``."""
    accept = request.headers.get("accept")
    if not accept:
        return None
    for item in accept.split(","):
        form = _FORMS.get(item.split(";", 1)[0].strip().lower())
        if form is not None:
            return form
    return None


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def npz_bytes(tensors: Mapping[str, np.ndarray]) -> bytes:
    """An uncompressed ``.npz`` (what :func:`numpy.load` opens), one member per name."""
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **{name: np.asarray(t) for name, t in tensors.items()})
    return buffer.getvalue()


def npy_response(array: np.ndarray, filename: str) -> Response:
    return Response(
        npy_bytes(array),
        media_type=NPY,
        headers={"Content-Disposition": f'attachment; filename="{filename}.npy"'},
    )


def npz_response(tensors: Mapping[str, np.ndarray], filename: str) -> Response:
    return Response(
        npz_bytes(tensors),
        media_type=NPZ,
        headers={"Content-Disposition": f'attachment; filename="{filename}.npz"'},
    )


def tensors_response(
    tensors: Mapping[str, np.ndarray], form: BinaryForm, filename: str
) -> Response:
    """``tensors`` in ``form``; ``.npy`` holds one tensor, so asking for it with several
    is :class:`NotAcceptable`."""
    if form == "npz":
        return npz_response(tensors, filename)
    if len(tensors) != 1:
        names = ", ".join(tensors)
        raise NotAcceptable(
            f"There are {len(tensors)} tensors ({names}) and a .npy file holds one: ask "
            f"for all of them with Accept: {NPZ}."
        )
    (array,) = tensors.values()
    return npy_response(array, filename)


def task_answer(request: Request, task: TaskView) -> Response:
    """The task as JSON, or its tensors as the file ``Accept`` asks for once it has them
    (a pending or failed task stays JSON: the ``Content-Type`` tells which came)."""
    form = binary_form(request)
    if form is not None and task.status == TaskStatus.SUCCESS and task.data is not None:
        tensors = decode_tensors(task.data)
        if tensors is not None:
            return tensors_response(tensors, form, f"task-{task.id}")
    return task_response(task)

"""JSON answers encoded with orjson, and tasks with their result embedded as it was
encoded when the task ended (never parsed and encoded again)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from vulcain.schemas import iso_utc
from vulcain.tasks.views import TaskView


class JSONBytes(Response):
    media_type = "application/json"


def json_response(content: Any, status_code: int = 200) -> JSONBytes:
    return JSONBytes(orjson.dumps(content), status_code=status_code)


def task_object(task: TaskView) -> dict[str, Any]:
    """The task object of the API (its ``data`` already JSON)."""
    return {
        "id": task.id,
        "name": task.name,
        "status": task.status,
        "error": task.error,
        "data": None if task.data is None else orjson.Fragment(task.data),
        "create_date": iso_utc(task.create_date),
        "update_date": iso_utc(task.update_date),
    }


def task_response(task: TaskView) -> JSONBytes:
    return json_response(task_object(task))

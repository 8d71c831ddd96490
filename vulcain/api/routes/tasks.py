"""``/tasks``: a page of the caller's tasks (one task is read in
:mod:`vulcain.api.routes.inference`)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from vulcain.api.auth import AppServices, CurrentAccount
from vulcain.api.ids import parse_id
from vulcain.api.pagination import Page, PageParams, page_links, page_params
from vulcain.api.responses import json_response, task_object
from vulcain.errors import BadRequest
from vulcain.schemas import Task

router = APIRouter(prefix="/tasks", tags=["tasks"])


def parse_task_ids(values: list[str] | None) -> list[int] | None:
    """``task_ids`` repeated (``?task_ids=1&task_ids=2``) or comma-separated (``1,2``)."""
    if not values:
        return None
    ids: list[int] = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            task_id = parse_id(item)
            if task_id is None:
                raise BadRequest(
                    f"task_ids: {item!r} is not a task id; send integers, e.g. "
                    "?task_ids=1&task_ids=2",
                    fields={"task_ids": "must be integers"},
                )
            ids.append(task_id)
    return ids


@router.get("", response_model=Page[Task], summary="List your tasks with the given ids")
async def list_tasks(
    request: Request,
    services: AppServices,
    account: CurrentAccount,
    page: Annotated[PageParams, Depends(page_params)],
    task_ids: Annotated[
        list[str] | None, Query(description="Task ids; repeat the parameter for several.")
    ] = None,
) -> Response:
    count, tasks = await run_in_threadpool(
        partial(
            services.tasks.list,
            account,
            parse_task_ids(task_ids),
            offset=page.offset,
            limit=page.limit,
        )
    )
    next_url, previous_url = page_links(request, page, count)
    return json_response(
        {
            "count": count,
            "next": next_url,
            "previous": previous_url,
            "results": [task_object(task) for task in tasks],
        }
    )

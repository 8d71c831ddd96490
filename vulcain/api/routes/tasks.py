"""``/tasks``: the caller's tasks, one (optionally waiting for it to finish) or a page."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from vulcain.api.auth import AppServices, CurrentAccount
from vulcain.api.ids import parse_id
from vulcain.api.pagination import Page, PageParams, make_page, page_params
from vulcain.errors import BadRequest, NotFound
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
) -> Page[Task]:
    count, tasks = await run_in_threadpool(
        partial(
            services.tasks.list,
            account,
            parse_task_ids(task_ids),
            offset=page.offset,
            limit=page.limit,
        )
    )
    return make_page(request, page, count, tasks)


@router.get("/{task_id}", response_model=Task, summary="Retrieve a task")
async def get_task(
    task_id: str,
    request: Request,
    services: AppServices,
    account: CurrentAccount,
    wait: Annotated[
        float | None,
        Query(
            ge=0,
            description="Seconds to wait for a pending task to finish (long-poll), capped by "
            "the server's VULCAIN_TASK_WAIT_MAX_SECONDS.",
        ),
    ] = None,
) -> Task:
    parsed = parse_id(task_id)
    if parsed is None:
        raise NotFound(f"There is no task {task_id!r} among yours: task ids are integers.")
    if not wait:
        return await run_in_threadpool(services.tasks.get, account, parsed)
    # Long-polls get their own thread limiter so that waiting clients cannot starve the
    # thread pool every other request runs on. The service caps the wait.
    return await anyio.to_thread.run_sync(
        partial(services.tasks.wait, account, parsed, wait),
        limiter=request.app.state.wait_limiter,
    )

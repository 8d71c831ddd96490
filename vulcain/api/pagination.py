"""``offset``/``limit`` query parameters and the ``{count, next, previous, results}`` page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Query, Request
from pydantic import BaseModel

from vulcain.services.pages import MAX_LIMIT, MAX_OFFSET

ItemT = TypeVar("ItemT")

DEFAULT_LIMIT = 100


class Page(BaseModel, Generic[ItemT]):
    """One page of a collection; ``next`` and ``previous`` are absolute URLs or null."""

    count: int
    next: str | None
    previous: str | None
    results: list[ItemT]


@dataclass(frozen=True)
class PageParams:
    offset: int
    limit: int


async def page_params(
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="Index of the first result.")
    ] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Most results on this page.")
    ] = DEFAULT_LIMIT,
) -> PageParams:
    return PageParams(offset=offset, limit=limit)


def make_page(
    request: Request, params: PageParams, count: int, results: list[ItemT]
) -> Page[ItemT]:
    """The page, its links keeping every other query parameter (``task_ids``, ...)."""
    next_url, previous_url = page_links(request, params, count)
    return Page[ItemT](count=count, next=next_url, previous=previous_url, results=results)


def page_links(request: Request, params: PageParams, count: int) -> tuple[str | None, str | None]:
    """The absolute URLs of the next and the previous page, where there is one."""
    next_url = previous_url = None
    if params.offset + params.limit < count:
        next_url = str(
            request.url.include_query_params(
                offset=params.offset + params.limit, limit=params.limit
            )
        )
    if params.offset > 0:
        previous_url = str(
            request.url.include_query_params(
                offset=max(0, min(params.offset, count) - params.limit), limit=params.limit
            )
        )
    return next_url, previous_url

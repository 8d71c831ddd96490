"""Pagination bounds shared by every listing (DESIGN.md section 1)."""

from __future__ import annotations

from vulcain.errors import BadRequest

MAX_LIMIT = 1000


def check_page(offset: int, limit: int) -> None:
    if offset < 0:
        raise BadRequest("offset: must be 0 or more.", fields={"offset": "must be >= 0"})
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(
            f"limit: must be between 1 and {MAX_LIMIT}.",
            fields={"limit": f"must be between 1 and {MAX_LIMIT}"},
        )

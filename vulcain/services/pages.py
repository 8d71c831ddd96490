"""Pagination bounds shared by every listing (docs/api.md, "Pagination")."""

from __future__ import annotations

from vulcain.errors import BadRequest

MAX_LIMIT = 1000
MAX_OFFSET = 2**63 - 1
"""The largest OFFSET SQLite and PostgreSQL accept (a signed 64-bit integer)."""


def check_page(offset: int, limit: int) -> None:
    if not 0 <= offset <= MAX_OFFSET:
        raise BadRequest(
            f"offset: must be between 0 and {MAX_OFFSET}.",
            fields={"offset": f"must be between 0 and {MAX_OFFSET}"},
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(
            f"limit: must be between 1 and {MAX_LIMIT}.",
            fields={"limit": f"must be between 1 and {MAX_LIMIT}"},
        )

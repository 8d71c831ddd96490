"""Integer ids written in URLs and query strings."""

from __future__ import annotations

MAX_ID = 2**63 - 1
"""The largest id a database row can have (a signed 64-bit integer)."""


def parse_id(text: str) -> int | None:
    """The id written in ``text`` (ASCII digits, at most :data:`MAX_ID`), else ``None``."""
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= MAX_ID else None

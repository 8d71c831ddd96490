"""Integer ids written in URLs and query strings."""

from __future__ import annotations

from vulcain.errors import NotFound

MAX_ID = 2**63 - 1
"""The largest id a database row can have (a signed 64-bit integer)."""


def parse_id(text: str) -> int | None:
    """The id written in ``text`` (ASCII digits, at most :data:`MAX_ID`), else ``None``."""
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def private_ref(network_id: str) -> int:
    """The integer id of ``/networks/{network_id}``; anything else names no network."""
    parsed = parse_id(network_id)
    if parsed is None:
        raise NotFound(
            f"There is no network {network_id!r} among yours: private networks have integer "
            f"ids; a public network is at /v0.7/networks/public/{network_id}."
        )
    return parsed

"""Helpers shared by the blob store tests."""

from __future__ import annotations

from typing import BinaryIO

from vulcain.storage.base import BlobInfo, BlobStore


def put(store: BlobStore, stream: BinaryIO, *, max_bytes: int | None = None) -> BlobInfo:
    """Stage, commit and discard: what the network service does for one file."""
    staged = store.stage(stream, max_bytes=max_bytes)
    try:
        staged.commit()
    finally:
        staged.discard()
    return staged.info

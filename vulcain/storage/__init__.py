"""Blob storage: the :class:`BlobStore` interface and :func:`open_storage` to pick one."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from vulcain.storage.base import BlobInfo, BlobStore, StagedBlob
from vulcain.storage.local import LocalBlobStore

__all__ = ["BlobInfo", "BlobStore", "LocalBlobStore", "StagedBlob", "open_storage"]


def open_storage(url: str) -> BlobStore:
    """The blob store a ``VULCAIN_STORAGE_URL`` names: ``file:///path`` (a local folder)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ValueError(f"file URL must name a local path, not host {parsed.netloc!r}")
        return LocalBlobStore(Path(unquote(parsed.path)))
    if parsed.scheme == "" and url:
        return LocalBlobStore(Path(url))
    raise ValueError(f"unsupported storage URL {url!r}: use file:///path")

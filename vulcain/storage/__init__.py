"""Blob storage: the :class:`BlobStore` interface and :func:`open_storage` to pick one."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from vulcain.storage.base import BlobInfo, BlobStore, StagedBlob
from vulcain.storage.local import LocalBlobStore

__all__ = ["BlobInfo", "BlobStore", "LocalBlobStore", "StagedBlob", "open_storage"]


def open_storage(
    url: str,
    *,
    cache_dir: Path | None = None,
    cache_bytes: int | None = None,
    s3_endpoint_url: str | None = None,
) -> BlobStore:
    """The blob store a ``VULCAIN_STORAGE_URL`` names: ``file:///path`` (a local folder) or
    ``s3://bucket/prefix`` (an S3-compatible bucket at ``s3_endpoint_url``, its files cached
    in ``cache_dir`` up to ``cache_bytes``)."""
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        from vulcain.storage.s3 import S3BlobStore

        if cache_dir is None or cache_bytes is None:
            raise ValueError("an s3:// storage URL needs a local cache folder and its size")
        return S3BlobStore.from_url(
            url, cache_dir=cache_dir, cache_bytes=cache_bytes, endpoint_url=s3_endpoint_url
        )
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ValueError(f"file URL must name a local path, not host {parsed.netloc!r}")
        return LocalBlobStore(Path(unquote(parsed.path)))
    if parsed.scheme == "" and url:
        return LocalBlobStore(Path(url))
    raise ValueError(f"unsupported storage URL {url!r}: use file:///path or s3://bucket/prefix")

"""The blob store interface: files kept by the sha256 of their content.

A blob is written in two steps so that the database can order uploads and removals:
:meth:`BlobStore.stage` streams the content to a temporary place while hashing it, and
:meth:`StagedBlob.commit` moves it under its key (atomically; a no-op when a blob with
that key exists). :meth:`BlobStore.put` does both at once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class BlobInfo:
    """A stored (or staged) blob: its key is the hex sha256 of its content."""

    sha256: str
    size: int


class StagedBlob(ABC):
    """Content written and hashed but not yet visible under its key."""

    info: BlobInfo

    @abstractmethod
    def commit(self) -> None:
        """Make the content visible under ``info.sha256`` (idempotent)."""

    @abstractmethod
    def discard(self) -> None:
        """Drop the staged content if it was not committed (idempotent)."""


class BlobStore(ABC):
    """Where network files live. Implementations must be safe to use from several threads."""

    @abstractmethod
    def stage(self, stream: BinaryIO, *, max_bytes: int | None = None) -> StagedBlob:
        """Copy ``stream`` chunk by chunk to a temporary place, hashing it on the way.
        Raise :class:`vulcain.errors.PayloadTooLarge` past ``max_bytes``."""

    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> BlobInfo:
        """Store ``stream`` under its sha256 and return its key and size."""
        staged = self.stage(stream, max_bytes=max_bytes)
        try:
            staged.commit()
        finally:
            staged.discard()
        return staged.info

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether a blob is stored under ``key``."""

    @abstractmethod
    def path(self, key: str) -> Path:
        """A local file holding the blob (for a remote store, a cached copy).
        Raise :class:`vulcain.errors.NotFound` when there is no such blob."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """The blob's content as a binary file open for reading."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the blob; nothing happens when it does not exist. Callers decide whether
        a blob is still used (see :mod:`vulcain.services._blobs`)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the store holds (connections, caches)."""

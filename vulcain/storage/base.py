"""The blob store interface: files kept by the sha256 of their content.

A blob is written in two steps so that the database can order uploads and removals:
:meth:`BlobStore.stage` streams the content to a temporary file while hashing it
(:func:`stage_to_temp`), and :meth:`StagedBlob.commit` makes it visible under its key
(atomically; a no-op when a blob with that key exists). Every store lays blobs out as
``<aa>/<sha256>`` (:func:`key_name`), ``aa`` being the key's first two hex digits.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from vulcain.errors import PayloadTooLarge

CHUNK_BYTES = 1024 * 1024
_KEY = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class BlobInfo:
    """A stored (or staged) blob: its key is the hex sha256 of its content."""

    sha256: str
    size: int


def check_key(key: str) -> str:
    """``key`` itself; :class:`ValueError` unless it is a hex sha256 (so a key can never
    name a path outside a store)."""
    if not _KEY.match(key):
        raise ValueError(f"not a blob key (hex sha256): {key!r}")
    return key


def key_name(key: str) -> str:
    """Where a blob lives relative to a store's root: ``<aa>/<sha256>``."""
    check_key(key)
    return f"{key[:2]}/{key}"


def stage_to_temp(
    stream: IO[bytes], tmp_dir: Path, max_bytes: int | None = None
) -> tuple[Path, BlobInfo]:
    """Copy ``stream`` chunk by chunk to a new file in ``tmp_dir``, hashing it on the way,
    and flush it to disk. Past ``max_bytes`` raise :class:`vulcain.errors.PayloadTooLarge`;
    on any failure no file is left behind."""
    digest = hashlib.sha256()
    size = 0
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK_BYTES):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise PayloadTooLarge(f"A file is larger than the limit of {max_bytes} bytes.")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp, BlobInfo(digest.hexdigest(), size)


class StagedBlob(ABC):
    """Content written and hashed but not yet visible under its key."""

    info: BlobInfo

    @abstractmethod
    def commit(self) -> None:
        """Make the content visible under ``info.sha256``. Idempotent and cheap when the
        blob is already stored (one existence check), so a caller may upload first and
        call it again under a lock to restore a blob a concurrent removal deleted."""

    @abstractmethod
    def discard(self) -> None:
        """Drop the staged content (idempotent); a committed blob stays stored."""


class BlobStore(ABC):
    """Where network files live. Implementations must be safe to use from several threads."""

    @abstractmethod
    def stage(self, stream: IO[bytes], *, max_bytes: int | None = None) -> StagedBlob:
        """Copy ``stream`` chunk by chunk to a temporary place, hashing it on the way.
        Raise :class:`vulcain.errors.PayloadTooLarge` past ``max_bytes``."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether a blob is stored under ``key``."""

    @abstractmethod
    def path(self, key: str) -> Path:
        """A local file holding the blob (for a remote store, a cached copy, downloaded
        in a stream). Raise :class:`vulcain.errors.NotFound` when there is no such blob."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the blob; nothing happens when it does not exist. Callers decide whether
        a blob is still used (see :mod:`vulcain.services.blobs`)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the store holds (connections, caches, temporary files)."""

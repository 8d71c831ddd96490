"""A blob store in a local folder: ``<root>/<aa>/<sha256>``, temporary files in ``<root>/tmp``."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

from vulcain.errors import NotFound, PayloadTooLarge
from vulcain.storage.base import CHUNK_BYTES, BlobInfo, BlobStore, StagedBlob

_KEY = re.compile(r"^[0-9a-f]{64}$")


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not a blob key (hex sha256): {key!r}")
    return key


class _LocalStagedBlob(StagedBlob):
    def __init__(self, store: LocalBlobStore, temp: Path, info: BlobInfo) -> None:
        self._store = store
        self._temp = temp
        self.info = info

    def commit(self) -> None:
        final = self._store.key_path(self.info.sha256)
        if final.exists():
            return
        if not self._temp.exists():
            raise RuntimeError(f"staged blob {self.info.sha256} was already discarded")
        final.parent.mkdir(parents=True, exist_ok=True)
        # A hard link keeps the staged file, so commit can run again if the blob is removed
        # by a concurrent cleanup before the caller's transaction holds the blob's lock.
        with contextlib.suppress(FileExistsError):
            os.link(self._temp, final)

    def discard(self) -> None:
        self._temp.unlink(missing_ok=True)


class LocalBlobStore(BlobStore):
    """Blobs as files under ``root``, written atomically (temporary file, then link)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def key_path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key

    def stage(self, stream: BinaryIO, *, max_bytes: int | None = None) -> StagedBlob:
        digest = hashlib.sha256()
        size = 0
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="upload-")
        temp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_BYTES):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise PayloadTooLarge(
                            f"A file is larger than the limit of {max_bytes} bytes."
                        )
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return _LocalStagedBlob(self, temp, BlobInfo(digest.hexdigest(), size))

    def exists(self, key: str) -> bool:
        return self.key_path(key).is_file()

    def path(self, key: str) -> Path:
        path = self.key_path(key)
        if not path.is_file():
            raise NotFound(f"The stored file {key} does not exist any more.")
        return path

    def open(self, key: str) -> BinaryIO:
        return self.path(key).open("rb")

    def delete(self, key: str) -> None:
        self.key_path(key).unlink(missing_ok=True)

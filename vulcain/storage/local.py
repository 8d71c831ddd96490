"""A blob store in a local folder: ``<root>/<aa>/<sha256>``, temporary files in ``<root>/tmp``."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO

from vulcain.errors import NotFound
from vulcain.storage._scratch import ScratchDir
from vulcain.storage.base import BlobInfo, BlobStore, StagedBlob, key_name, stage_to_temp


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
    """Blobs as files under ``root``, written atomically (temporary file, then link).
    Each open store stages in its own folder under ``<root>/tmp``; opening one removes
    what crashed processes left there (see :mod:`vulcain.storage._scratch`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._scratch = ScratchDir(root / "tmp")

    @property
    def tmp(self) -> Path:
        """This store's private folder for uploads being staged."""
        return self._scratch.path

    def key_path(self, key: str) -> Path:
        return self.root / key_name(key)

    def stage(self, stream: IO[bytes], *, max_bytes: int | None = None) -> StagedBlob:
        temp, info = stage_to_temp(stream, self.tmp, max_bytes)
        return _LocalStagedBlob(self, temp, info)

    def exists(self, key: str) -> bool:
        return self.key_path(key).is_file()

    def path(self, key: str) -> Path:
        path = self.key_path(key)
        if not path.is_file():
            raise NotFound(f"The stored file {key} does not exist any more.")
        return path

    def delete(self, key: str) -> None:
        self.key_path(key).unlink(missing_ok=True)

    def close(self) -> None:
        self._scratch.close()

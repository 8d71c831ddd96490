"""A bounded local cache of remote blobs, keyed by sha256 (the files a worker loads).

A blob is downloaded once into ``<root>/<aa>/<sha256>`` (through a temporary file, checked
against its key, then renamed), and stays until the cache holds more than ``max_bytes``:
then the least recently used files go first, except those handed out in the last
``in_use_seconds`` (a model may be loading from them). Files already on disk when the
cache opens are kept, so a restarted worker does not download its networks again;
temporary files a crashed process left are removed (see :mod:`vulcain.storage._scratch`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from vulcain.storage._scratch import ScratchDir
from vulcain.storage.base import CHUNK_BYTES, check_key, key_name

log = logging.getLogger(__name__)


class CorruptDownload(Exception):
    """A downloaded file does not hash to the key it was fetched for."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


class BlobCache:
    """Thread-safe; one download per key however many threads ask for it at once."""

    def __init__(self, root: Path, max_bytes: int, *, in_use_seconds: float = 300.0) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.in_use_seconds = in_use_seconds
        self._scratch = ScratchDir(root / "tmp")
        self._lock = threading.Lock()
        self._fetching: dict[str, threading.Lock] = {}
        self._sizes: OrderedDict[str, int] = OrderedDict()
        self._used_at: dict[str, float] = {}
        self.downloads = 0
        self._scan()

    def _scan(self) -> None:
        found = []
        for path in self.root.glob("??/*"):
            with contextlib.suppress(ValueError, OSError):
                check_key(path.name)
                stat = path.stat()
                found.append((stat.st_mtime, path.name, stat.st_size))
        for _, key, size in sorted(found):
            self._sizes[key] = size

    @property
    def tmp(self) -> Path:
        """This cache's private folder for files being written (downloads, uploads to
        keep): on the cache's file system, so they can be linked in."""
        return self._scratch.path

    def key_path(self, key: str) -> Path:
        return self.root / key_name(key)

    def close(self) -> None:
        """Remove this cache's temporary folder; the cached files stay."""
        self._scratch.close()

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return sum(self._sizes.values())

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._sizes

    def get(self, key: str, fetch: Callable[[Path], None]) -> Path:
        """The cached file of ``key``; absent, ``fetch(temp_path)`` downloads it first.
        Exceptions of ``fetch`` propagate and leave nothing behind."""
        path = self.key_path(key)
        with self._lock:
            if key in self._sizes and path.is_file():
                self._touch(key, path)
                return path
            fetch_lock = self._fetching.setdefault(key, threading.Lock())
        with fetch_lock:
            try:
                with self._lock:
                    if key in self._sizes and path.is_file():
                        self._touch(key, path)
                        return path
                self._download(key, path, fetch)
            finally:
                with self._lock:
                    self._fetching.pop(key, None)
        self._evict(keep=key)
        return path

    def _download(self, key: str, path: Path, fetch: Callable[[Path], None]) -> None:
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="download-")
        os.close(fd)
        temp = Path(name)
        try:
            fetch(temp)
            if file_sha256(temp) != key:
                raise CorruptDownload(f"the downloaded blob {key} does not match its sha256")
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)
        with self._lock:
            self.downloads += 1
            self._sizes[key] = path.stat().st_size
            self._touch(key, path)

    def add(self, key: str, source: Path) -> None:
        """Keep a local file known to hold ``key`` (an upload just made), by hard link
        when possible; nothing happens when the key is cached."""
        path = self.key_path(key)
        with self._lock:
            if key in self._sizes and path.is_file():
                return
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with contextlib.suppress(FileExistsError):
                os.link(source, path)
        except OSError:
            return
        with self._lock:
            self._sizes[key] = path.stat().st_size
            self._touch(key, path)
        self._evict(keep=key)

    def discard(self, key: str) -> None:
        """Forget ``key`` (its blob was deleted)."""
        with self._lock:
            self._sizes.pop(key, None)
            self._used_at.pop(key, None)
        self.key_path(key).unlink(missing_ok=True)

    def _touch(self, key: str, path: Path) -> None:
        """Mark ``key`` most recently used (caller holds the lock)."""
        self._sizes.move_to_end(key)
        self._used_at[key] = time.monotonic()
        with contextlib.suppress(OSError):
            os.utime(path)

    def _evict(self, *, keep: str) -> None:
        victims = []
        with self._lock:
            total = sum(self._sizes.values())
            now = time.monotonic()
            for key, size in list(self._sizes.items()):
                if total <= self.max_bytes:
                    break
                used_at = self._used_at.get(key)
                if key == keep or (used_at is not None and now - used_at < self.in_use_seconds):
                    continue
                del self._sizes[key]
                self._used_at.pop(key, None)
                total -= size
                victims.append(key)
            if total > self.max_bytes:
                log.warning(
                    "blob cache holds %d bytes, over its %d byte bound: every file is in use",
                    total,
                    self.max_bytes,
                )
        for key in victims:
            self.key_path(key).unlink(missing_ok=True)

"""A private temporary folder per open store, and removal of those left by a crash.

Uploads and downloads are first written to ``<parent>/<uuid>/``. Its owner holds an
exclusive ``flock`` on ``<parent>/<uuid>.lock`` while it is open, taken before the folder
exists; the kernel releases the lock when the owner exits, however it exits. So when a
store opens, a folder whose lock it can take belongs to nobody any more (a crashed or
killed process) and is removed, multi-GB half-written uploads included, while the folders
of live processes sharing the same parent stay untouched. Loose files directly in
``<parent>`` (written before this layout) are removed once older than an hour.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import time
import uuid
import weakref
from pathlib import Path

log = logging.getLogger(__name__)

LEGACY_MAX_AGE_SECONDS = 3600.0
_LOCK_SUFFIX = ".lock"


class ScratchDir:
    """``path``: a new folder under ``parent`` that only this object writes to; removed by
    :meth:`close`, when the object is garbage collected, at interpreter exit, or by the
    next store to open on ``parent`` if this process dies first."""

    def __init__(self, parent: Path) -> None:
        parent.mkdir(parents=True, exist_ok=True)
        remove_abandoned(parent)
        name = uuid.uuid4().hex
        lock = parent / f"{name}{_LOCK_SUFFIX}"
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.path = parent / name
            self.path.mkdir()
        except BaseException:
            os.close(fd)
            lock.unlink(missing_ok=True)
            raise
        self._finalizer = weakref.finalize(self, _release, fd, self.path, lock)

    def close(self) -> None:
        """Remove the folder and what is in it (idempotent)."""
        self._finalizer()


def _release(fd: int, folder: Path, lock: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    lock.unlink(missing_ok=True)
    os.close(fd)


def remove_abandoned(parent: Path) -> None:
    """Remove every folder of ``parent`` whose owner is gone, and legacy loose files."""
    for entry in parent.iterdir():
        if entry.name.endswith(_LOCK_SUFFIX):
            continue
        try:
            if entry.is_dir():
                _remove_if_unowned(entry)
            elif time.time() - entry.stat().st_mtime > LEGACY_MAX_AGE_SECONDS:
                entry.unlink()
        except FileNotFoundError:
            continue
        except OSError:
            log.warning("could not remove the leftover temporary %s", entry, exc_info=True)


def _remove_if_unowned(folder: Path) -> None:
    lock = folder.with_name(folder.name + _LOCK_SUFFIX)
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        # Owners take their lock before creating their folder and drop it only after
        # removing it, so a folder without a lock file has no owner.
        shutil.rmtree(folder)
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        log.info("removing temporary files left by a stopped process: %s", folder)
        shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
    finally:
        os.close(fd)

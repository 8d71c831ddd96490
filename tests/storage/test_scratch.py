"""Temporary files of crashed processes: real processes, killed with SIGKILL mid-write."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vulcain.storage.blob_cache import BlobCache
from vulcain.storage.local import LocalBlobStore

MIB = 1024 * 1024

# Opens a store (or a cache) on argv[2], writes 1 MiB of an upload (or a download) and then
# hangs in the middle of it, after printing the folder it writes in.
WRITER = """
import sys, time
from pathlib import Path

kind, root = sys.argv[1], Path(sys.argv[2])


def hang(folder):
    print(folder, flush=True)
    time.sleep(120)


class Stalling:
    def __init__(self, folder):
        self.folder, self.sent = folder, False

    def read(self, size=-1):
        if self.sent:
            hang(self.folder)
        self.sent = True
        return b"x" * size


if kind == "store":
    from vulcain.storage.local import LocalBlobStore

    store = LocalBlobStore(root)
    store.stage(Stalling(store.tmp))
else:
    from vulcain.storage.blob_cache import BlobCache

    cache = BlobCache(root, 10**9)

    def fetch(dest):
        dest.write_bytes(b"x" * 2**20)
        hang(cache.tmp)

    cache.get("ab" * 32, fetch)
"""


def start_writer(kind: str, root: Path) -> tuple[subprocess.Popen[str], Path]:
    """A process in the middle of writing a temporary file, and its temporary folder."""
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, kind, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    folder = Path(process.stdout.readline().strip())
    assert folder.parent == root / "tmp" and any(folder.iterdir())
    return process, folder


@pytest.fixture
def writers() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        process.kill()
        process.wait()
        assert process.stdout is not None
        process.stdout.close()


def open_store(kind: str, root: Path) -> LocalBlobStore | BlobCache:
    return LocalBlobStore(root) if kind == "store" else BlobCache(root, 10**9)


@pytest.mark.parametrize("kind", ["store", "cache"])
def test_opening_removes_what_a_killed_process_was_writing(kind, tmp_path, writers):
    root = tmp_path / kind
    killed, killed_folder = start_writer(kind, root)
    writers.append(killed)
    alive, alive_folder = start_writer(kind, root)
    writers.append(alive)
    killed.send_signal(signal.SIGKILL)
    killed.wait()

    opened = open_store(kind, root)
    try:
        assert not killed_folder.exists()
        assert not killed_folder.with_name(killed_folder.name + ".lock").exists()
        assert any(alive_folder.iterdir()), "a live process keeps its half-written file"
        assert {path.name for path in (root / "tmp").iterdir() if path.is_dir()} == {
            alive_folder.name,
            opened.tmp.name,
        }
    finally:
        opened.close()


def test_loose_files_of_the_old_layout_go_once_an_hour_old(tmp_path):
    tmp = tmp_path / "blobs" / "tmp"
    tmp.mkdir(parents=True)
    old, recent = tmp / "upload-old", tmp / "upload-recent"
    old.write_bytes(b"half an old upload")
    recent.write_bytes(b"maybe still written by an older version")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    store = LocalBlobStore(tmp_path / "blobs")
    try:
        assert not old.exists() and recent.exists()
    finally:
        store.close()


def test_close_removes_the_store_temporary_folder_and_keeps_blobs(tmp_path):
    store = LocalBlobStore(tmp_path / "blobs")
    staged = store.stage(io.BytesIO(b"content"))
    staged.commit()
    folder = store.tmp
    store.close()
    store.close()
    assert not folder.exists()
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []
    assert LocalBlobStore(tmp_path / "blobs").path(staged.info.sha256).read_bytes() == b"content"


def test_a_folder_without_its_lock_file_has_no_owner(tmp_path):
    orphan = tmp_path / "blobs" / "tmp" / ("0" * 32)
    orphan.mkdir(parents=True)
    (orphan / "upload-x").write_bytes(b"x" * MIB)
    store = LocalBlobStore(tmp_path / "blobs")
    try:
        assert not orphan.exists()
    finally:
        store.close()

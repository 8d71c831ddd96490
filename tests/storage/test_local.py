from __future__ import annotations

import hashlib
import io
import os
import threading
from pathlib import Path

import pytest

from tests.storage.blobs import put
from vulcain.errors import NotFound, PayloadTooLarge
from vulcain.storage import LocalBlobStore, open_storage


class ChunkCountingStream(io.RawIOBase):
    """A stream that serves ``total`` bytes and remembers the largest read asked of it."""

    def __init__(self, total: int) -> None:
        self.remaining = total
        self.largest_read = 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.largest_read = max(self.largest_read, size)
        if size < 0:
            raise AssertionError("the store must read in chunks, never everything at once")
        count = min(size, self.remaining)
        self.remaining -= count
        chunk = os.urandom(count)
        self.digest.update(chunk)
        return chunk


def stored_files(root: Path) -> list[Path]:
    """The files of a store's root, its temporary folder aside."""
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and path.relative_to(root).parts[0] != "tmp"
    ]


def test_put_stores_by_sha256(tmp_path: Path):
    store = LocalBlobStore(tmp_path / "blobs")
    content = b"deploy.prototxt content"
    info = put(store, io.BytesIO(content))
    assert info.sha256 == hashlib.sha256(content).hexdigest()
    assert info.size == len(content)
    assert store.exists(info.sha256)
    assert store.path(info.sha256).read_bytes() == content
    assert list(store.tmp.iterdir()) == []


def test_identical_content_is_stored_once(tmp_path: Path):
    store = LocalBlobStore(tmp_path / "blobs")
    first = put(store, io.BytesIO(b"same weights"))
    second = put(store, io.BytesIO(b"same weights"))
    assert first == second
    stored = stored_files(tmp_path / "blobs")
    assert stored == [store.path(first.sha256)]


def test_large_upload_is_streamed_in_chunks(tmp_path: Path):
    store = LocalBlobStore(tmp_path / "blobs")
    stream = ChunkCountingStream(5 * 1024 * 1024 + 3)
    info = put(store, stream)  # type: ignore[arg-type]
    assert info.size == 5 * 1024 * 1024 + 3
    assert info.sha256 == stream.digest.hexdigest()
    assert 0 < stream.largest_read <= 1024 * 1024


def test_upload_over_the_limit_leaves_nothing(tmp_path: Path):
    store = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(PayloadTooLarge, match="limit of 10 bytes"):
        put(store, io.BytesIO(b"x" * 11), max_bytes=10)
    assert stored_files(tmp_path / "blobs") == []


def test_staged_blob_is_invisible_until_committed(tmp_path: Path):
    store = LocalBlobStore(tmp_path / "blobs")
    staged = store.stage(io.BytesIO(b"staged"))
    assert not store.exists(staged.info.sha256)
    staged.commit()
    assert store.exists(staged.info.sha256)
    store.delete(staged.info.sha256)
    staged.commit()
    assert store.path(staged.info.sha256).read_bytes() == b"staged"
    staged.discard()
    assert list(store.tmp.iterdir()) == []


def test_discarded_stage_leaves_no_file(tmp_path: Path):
    store = LocalBlobStore(tmp_path / "blobs")
    staged = store.stage(io.BytesIO(b"never kept"))
    staged.discard()
    assert not store.exists(staged.info.sha256)
    assert stored_files(tmp_path / "blobs") == []


def test_delete_and_missing_blobs(tmp_path: Path):
    store = LocalBlobStore(tmp_path / "blobs")
    info = put(store, io.BytesIO(b"to delete"))
    store.delete(info.sha256)
    store.delete(info.sha256)
    assert not store.exists(info.sha256)
    with pytest.raises(NotFound):
        store.path(info.sha256)
    with pytest.raises(ValueError, match="not a blob key"):
        store.path("../../etc/passwd")


def test_concurrent_puts_of_the_same_content(tmp_path: Path):
    store = LocalBlobStore(tmp_path / "blobs")
    content = os.urandom(256 * 1024)
    results = []

    def put_one() -> None:
        results.append(put(store, io.BytesIO(content)))

    threads = [threading.Thread(target=put_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    assert store.path(results[0].sha256).read_bytes() == content


def test_open_storage_reads_file_urls(tmp_path: Path):
    store = open_storage((tmp_path / "store").as_uri())
    assert isinstance(store, LocalBlobStore)
    assert store.root == tmp_path / "store"
    with pytest.raises(ValueError, match="unsupported storage URL"):
        open_storage("ftp://example.com/blobs")

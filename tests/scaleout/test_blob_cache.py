from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from vulcain.storage.blob_cache import BlobCache, CorruptDownload


def _blob(size: int) -> tuple[str, bytes]:
    content = os.urandom(size)
    return hashlib.sha256(content).hexdigest(), content


def _fetcher(content: bytes, calls: list[str]):
    def fetch(dest: Path) -> None:
        calls.append(str(dest))
        dest.write_bytes(content)

    return fetch


def test_a_blob_is_downloaded_once_and_kept_by_its_sha256(tmp_path: Path):
    cache = BlobCache(tmp_path, 1_000_000)
    key, content = _blob(1000)
    calls: list[str] = []
    first = cache.get(key, _fetcher(content, calls))
    second = cache.get(key, _fetcher(content, calls))
    assert first == second == tmp_path / key[:2] / key
    assert first.read_bytes() == content
    assert len(calls) == 1 and cache.downloads == 1
    assert not any(cache.tmp.iterdir())


def test_concurrent_readers_share_one_download(tmp_path: Path):
    cache = BlobCache(tmp_path, 1_000_000)
    key, content = _blob(1000)
    calls: list[str] = []

    def slow_fetch(dest: Path) -> None:
        time.sleep(0.2)
        _fetcher(content, calls)(dest)

    paths: list[Path] = []
    threads = [
        threading.Thread(target=lambda: paths.append(cache.get(key, slow_fetch))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(set(paths)) == 1 and len(paths) == 8


def test_least_recently_used_files_go_first_past_the_bound(tmp_path: Path):
    cache = BlobCache(tmp_path, 2500, in_use_seconds=0)
    blobs = [_blob(1000) for _ in range(3)]
    calls: list[str] = []
    path_a, path_b = (cache.get(key, _fetcher(content, calls)) for key, content in blobs[:2])
    cache.get(blobs[0][0], _fetcher(blobs[0][1], calls))  # a is now more recent than b
    path_c = cache.get(blobs[2][0], _fetcher(blobs[2][1], calls))
    assert path_a.exists() and path_c.exists()
    assert not path_b.exists()
    assert cache.total_bytes == 2000
    assert blobs[1][0] not in cache


def test_files_handed_out_recently_are_not_evicted(tmp_path: Path):
    cache = BlobCache(tmp_path, 1500, in_use_seconds=60)
    (key_a, content_a), (key_b, content_b) = _blob(1000), _blob(1000)
    path_a = cache.get(key_a, _fetcher(content_a, []))
    path_b = cache.get(key_b, _fetcher(content_b, []))
    assert path_a.exists() and path_b.exists()
    assert cache.total_bytes == 2000


def test_a_download_that_does_not_match_its_key_is_refused(tmp_path: Path):
    cache = BlobCache(tmp_path, 1_000_000)
    key, _ = _blob(100)
    with pytest.raises(CorruptDownload):
        cache.get(key, _fetcher(b"something else", []))
    assert key not in cache
    assert not (tmp_path / key[:2] / key).exists()
    assert not any(cache.tmp.iterdir())


def test_a_failed_download_leaves_nothing(tmp_path: Path):
    cache = BlobCache(tmp_path, 1_000_000)
    key, _ = _blob(100)

    def broken(dest: Path) -> None:
        dest.write_bytes(b"partial")
        raise ConnectionError("network down")

    with pytest.raises(ConnectionError):
        cache.get(key, broken)
    assert key not in cache and not any(cache.tmp.iterdir())


def test_a_reopened_cache_keeps_its_files(tmp_path: Path):
    key, content = _blob(500)
    BlobCache(tmp_path, 1_000_000).get(key, _fetcher(content, []))
    calls: list[str] = []
    reopened = BlobCache(tmp_path, 1_000_000)
    assert key in reopened and reopened.total_bytes == 500
    assert reopened.get(key, _fetcher(content, calls)).read_bytes() == content
    assert calls == []


def test_add_links_a_local_file_and_discard_forgets_it(tmp_path: Path):
    cache = BlobCache(tmp_path / "cache", 1_000_000)
    key, content = _blob(300)
    source = cache.tmp / "upload"
    source.write_bytes(content)
    cache.add(key, source)
    source.unlink()
    assert cache.get(key, _fetcher(b"", [])).read_bytes() == content
    cache.discard(key)
    assert key not in cache and not cache.key_path(key).exists()

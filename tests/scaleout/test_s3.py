from __future__ import annotations

import asyncio
import hashlib
import io
import os
import threading
import time
from pathlib import Path

import boto3
import pytest
from boto3.s3.transfer import TransferConfig

from tests.storage.blobs import put
from tests.tasks.conftest import IDENTITY_PREPROCESSING, png_request
from tests.tasks.test_runner import create_identity
from vulcain.config import Settings
from vulcain.db.database import Database
from vulcain.db.models import BlobRow
from vulcain.errors import NotFound, PayloadTooLarge
from vulcain.schemas import Network
from vulcain.services import Services
from vulcain.services.blobs import claim_blobs, remove_unused_blobs
from vulcain.storage import open_storage
from vulcain.storage.base import BlobInfo
from vulcain.storage.blob_cache import BlobCache
from vulcain.storage.s3 import S3BlobStore

pytestmark = pytest.mark.scaleout

MIB = 1024 * 1024


@pytest.fixture
def store(s3_endpoint: str, bucket: str, tmp_path: Path):
    small_parts = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    store = S3BlobStore(
        bucket,
        "networks/",
        BlobCache(tmp_path / "cache", 100 * MIB),
        endpoint_url=s3_endpoint,
        transfer=small_parts,
    )
    yield store
    store.close()


def _objects(s3_endpoint: str, bucket: str) -> dict[str, dict]:
    listing = boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(Bucket=bucket)
    return {item["Key"]: item for item in listing.get("Contents", [])}


def test_put_stores_an_object_under_prefix_and_sha256(store, s3_endpoint, bucket):
    content = b"deploy.prototxt content"
    key = hashlib.sha256(content).hexdigest()
    info = put(store, io.BytesIO(content))
    assert (info.sha256, info.size) == (key, len(content))
    assert list(_objects(s3_endpoint, bucket)) == [f"networks/{key[:2]}/{key}"]
    assert store.exists(key)
    assert store.path(key).read_bytes() == content


def test_large_files_go_up_in_parts_and_come_back_whole(store, s3_endpoint, bucket, tmp_path):
    content = os.urandom(11 * MIB)
    info = put(store, io.BytesIO(content))
    etag = _objects(s3_endpoint, bucket)[store.object_key(info.sha256)]["ETag"]
    assert etag.strip('"').endswith("-3")  # a multipart upload of three parts
    store.cache.discard(info.sha256)  # read from the bucket, not the upload's local copy
    assert hashlib.sha256(store.path(info.sha256).read_bytes()).hexdigest() == info.sha256
    assert store.cache.downloads == 1


def test_path_downloads_once_into_the_cache(store, s3_endpoint, bucket, tmp_path):
    content = os.urandom(6 * MIB)
    info = put(store, io.BytesIO(content))
    store.cache.discard(info.sha256)
    fresh = S3BlobStore(
        bucket,
        "networks",
        BlobCache(tmp_path / "worker-cache", 100 * MIB),
        endpoint_url=s3_endpoint,
    )
    try:
        first = fresh.path(info.sha256)
        assert first.read_bytes() == content
        assert first.is_relative_to(tmp_path / "worker-cache")
        assert fresh.path(info.sha256) == first
        assert fresh.cache.downloads == 1
    finally:
        fresh.close()


def test_an_upload_is_not_sent_again_when_the_object_exists(store, s3_endpoint, bucket):
    content = b"same content"
    first = store.stage(io.BytesIO(content))
    first.commit()
    first.discard()
    store.cache.discard(first.info.sha256)
    boto3.client("s3", endpoint_url=s3_endpoint).put_object(
        Bucket=bucket, Key=store.object_key(first.info.sha256), Body=content, Metadata={"m": "1"}
    )
    second = store.stage(io.BytesIO(content))
    second.commit()
    second.discard()
    head = boto3.client("s3", endpoint_url=s3_endpoint).head_object(
        Bucket=bucket, Key=store.object_key(first.info.sha256)
    )
    assert head["Metadata"] == {"m": "1"}  # not overwritten


def test_delete_removes_the_object_and_the_cached_copy(store, s3_endpoint, bucket):
    info = put(store, io.BytesIO(b"to delete"))
    cached = store.path(info.sha256)
    store.delete(info.sha256)
    store.delete(info.sha256)
    assert not store.exists(info.sha256)
    assert not cached.exists()
    assert _objects(s3_endpoint, bucket) == {}
    with pytest.raises(NotFound):
        store.path(info.sha256)


def test_staging_past_the_limit_is_refused_and_leaves_nothing(store, s3_endpoint, bucket):
    with pytest.raises(PayloadTooLarge):
        store.stage(io.BytesIO(b"x" * 2000), max_bytes=1000)
    assert not any(store.cache.tmp.iterdir())
    assert _objects(s3_endpoint, bucket) == {}


def test_open_storage_reads_s3_urls(s3_endpoint, bucket, tmp_path):
    store = open_storage(
        f"s3://{bucket}/a/b", cache_dir=tmp_path / "c", cache_bytes=MIB, s3_endpoint_url=s3_endpoint
    )
    try:
        assert isinstance(store, S3BlobStore)
        assert (store.bucket, store.prefix, store.cache.max_bytes) == (bucket, "a/b", MIB)
    finally:
        store.close()
    with pytest.raises(ValueError, match="cache"):
        open_storage(f"s3://{bucket}")


def test_networks_deploy_and_infer_from_s3(
    s3_endpoint, bucket, settings, identity_model, image, tmp_path
):
    """The service on S3 settings: files go to the bucket, the engine loads them through
    a cache that a second process (another data folder) fills from the bucket."""
    s3_settings = settings.model_copy(
        update={"storage_url": f"s3://{bucket}/vulcain", "s3_endpoint_url": s3_endpoint}
    )
    services = Services(s3_settings, out=io.StringIO())
    services.start()
    try:
        account = services.accounts.create("s3 user")[0]
        network = create_identity(services, account, identity_model)
        assert asyncio.run(services.tasks.wait(account, network.task_id, 30)).status == "success"
        keys = list(_objects(s3_endpoint, bucket))
        assert keys and all(key.startswith("vulcain/") for key in keys)
    finally:
        services.close()

    other = Services(
        s3_settings.model_copy(update={"data_dir": tmp_path / "other"}), out=io.StringIO()
    )
    other.start()
    try:
        task_id = asyncio.run(other.networks.infer(account, network.id, png_request(image)))
        task = asyncio.run(other.tasks.wait(account, task_id, 30))
        assert task.status == "success", task.error
        assert other.storage.cache.downloads == len(identity_model)  # type: ignore[attr-defined]
        other.networks.delete(account, network.id)
        assert _objects(s3_endpoint, bucket) == {}
    finally:
        other.close()


def test_settings_choose_s3(s3_endpoint, bucket, tmp_path):
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        storage_url=f"s3://{bucket}",
        s3_endpoint_url=s3_endpoint,
        blob_cache_bytes=12345,
    )
    services = Services(settings)
    try:
        assert isinstance(services.storage, S3BlobStore)
        assert services.storage.cache.root == tmp_path / "blob-cache"
        assert services.storage.cache.max_bytes == 12345
    finally:
        services.close()


class SignallingStream(io.BytesIO):
    """Content that says when it has been read to the end (the upload's staging is done)."""

    def __init__(self, content: bytes) -> None:
        super().__init__(content)
        self.read_to_end = threading.Event()

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        if not chunk:
            self.read_to_end.set()
        return chunk


def test_a_slow_upload_holds_no_database_lock(s3_endpoint, bucket, settings, tmp_path):
    """B1: a network's files go to the bucket before its transaction opens, so a writer
    that needs the same blob's row (here the removal of unused blobs, the strictest one)
    is not blocked for the length of the upload, on SQLite as on PostgreSQL, and the
    upload still ends stored and used."""
    throttled = TransferConfig(max_bandwidth=256 * 1024)  # 1 MiB takes about 3 s
    storage = S3BlobStore(
        bucket,
        "vulcain",
        BlobCache(tmp_path / "cache", 100 * MIB),
        endpoint_url=s3_endpoint,
        transfer=throttled,
    )
    services = Services(settings, storage=storage, out=io.StringIO())
    services.start()
    try:
        account = services.accounts.create("uploader")[0]
        content = os.urandom(MIB)
        info = BlobInfo(hashlib.sha256(content).hexdigest(), len(content))
        stream = SignallingStream(content)
        created: list[Network] = []
        creator = threading.Thread(
            target=lambda: created.append(
                services.networks.create(
                    account,
                    name="slow upload",
                    description="",
                    metadata={},
                    framework="onnx",
                    preprocessing=IDENTITY_PREPROCESSING,
                    files={"model.onnx": stream},
                )
            )
        )
        started = time.monotonic()
        creator.start()
        assert stream.read_to_end.wait(10)
        time.sleep(0.3)  # the upload is under way
        remove_unused_blobs(services.db, services.storage, [info])
        removal_ended = time.monotonic() - started
        upload_running = creator.is_alive()
        creator.join(30)
        create_ended = time.monotonic() - started
        assert create_ended > 1.5, "the throttled upload should take seconds"
        assert upload_running, (
            f"the removal waited {removal_ended:.1f} s, until the create ended"
            f" ({create_ended:.1f} s): the upload held a lock"
        )
        assert created and services.storage.exists(info.sha256)
        with services.db.session() as session:
            assert session.get(BlobRow, info.sha256) is not None
    finally:
        services.close()


def test_claiming_restores_a_blob_removed_after_its_upload(store, settings, s3_endpoint, bucket):
    """B1: between the upload and the transaction a removal may delete the blob (no file
    row used it yet); the transaction's claim uploads it again while holding its row."""
    db = Database(settings.database_url)
    try:
        db.migrate()
        staged = store.stage(io.BytesIO(b"uploaded, removed, claimed"))
        staged.commit()
        assert remove_unused_blobs(db, store, [staged.info]) == [staged.info.sha256]
        assert _objects(s3_endpoint, bucket) == {}
        with db.session() as session:
            claim_blobs(session, [staged, staged])
        staged.discard()
        assert list(_objects(s3_endpoint, bucket)) == [store.object_key(staged.info.sha256)]
        with db.session() as session:
            assert session.get(BlobRow, staged.info.sha256) is not None
    finally:
        db.close()

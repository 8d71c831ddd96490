"""A blob store in an S3-compatible bucket: ``s3://bucket/prefix`` holds ``<prefix>/<aa>/<sha256>``.

An upload is staged in a local file while it is hashed (the key is its sha256), then
uploaded by :meth:`StagedBlob.commit` with boto3's managed transfer (multipart above
``multipart_threshold``, parts sent in parallel). :meth:`S3BlobStore.path` reads the local
copy kept by a :class:`~vulcain.storage.blob_cache.BlobCache`, streaming the object into
that cache on demand (ranged parts in parallel, never whole in memory), so a worker fetches
each network file once.
Credentials and region come from boto3's usual sources (``AWS_ACCESS_KEY_ID``, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO
from urllib.parse import urlparse

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from vulcain.errors import NotFound
from vulcain.storage.base import BlobInfo, BlobStore, StagedBlob, key_name, stage_to_temp
from vulcain.storage.blob_cache import BlobCache

MULTIPART_THRESHOLD = 64 * 1024 * 1024
MULTIPART_CHUNK = 16 * 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}


def default_transfer() -> TransferConfig:
    return TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD,
        multipart_chunksize=MULTIPART_CHUNK,
        max_concurrency=8,
    )


class _S3StagedBlob(StagedBlob):
    def __init__(self, store: S3BlobStore, temp: Path, info: BlobInfo) -> None:
        self._store = store
        self._temp = temp
        self.info = info

    def commit(self) -> None:
        if not self._temp.exists():
            raise RuntimeError(f"staged blob {self.info.sha256} was already discarded")
        self._store.upload(self.info.sha256, self._temp)

    def discard(self) -> None:
        self._temp.unlink(missing_ok=True)


class S3BlobStore(BlobStore):
    """Blobs as objects of ``bucket`` under ``prefix``; ``cache`` keeps local copies."""

    def __init__(
        self,
        bucket: str,
        prefix: str,
        cache: BlobCache,
        *,
        endpoint_url: str | None = None,
        transfer: TransferConfig | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.cache = cache
        self.transfer = transfer or default_transfer()
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            config=Config(max_pool_connections=32, retries={"max_attempts": 5, "mode": "standard"}),
        )

    @classmethod
    def from_url(
        cls, url: str, *, cache_dir: Path, cache_bytes: int, endpoint_url: str | None = None
    ) -> S3BlobStore:
        """The store of ``s3://bucket/prefix``."""
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"not an S3 storage URL (s3://bucket/prefix): {url!r}")
        return cls(
            parsed.netloc,
            parsed.path,
            BlobCache(cache_dir, cache_bytes),
            endpoint_url=endpoint_url,
        )

    def object_key(self, key: str) -> str:
        name = key_name(key)
        return f"{self.prefix}/{name}" if self.prefix else name

    def stage(self, stream: IO[bytes], *, max_bytes: int | None = None) -> StagedBlob:
        temp, info = stage_to_temp(stream, self.cache.tmp, max_bytes)
        return _S3StagedBlob(self, temp, info)

    def upload(self, key: str, source: Path) -> None:
        """Upload ``source`` (known to hash to ``key``) unless the object exists, and keep
        it in the cache."""
        if not self.exists(key):
            self.client.upload_file(
                str(source), self.bucket, self.object_key(key), Config=self.transfer
            )
        self.cache.add(key, source)

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as error:
            if _missing(error):
                return False
            raise
        return True

    def path(self, key: str) -> Path:
        def fetch(dest: Path) -> None:
            try:
                self.client.download_file(
                    self.bucket, self.object_key(key), str(dest), Config=self.transfer
                )
            except ClientError as error:
                if _missing(error):
                    raise NotFound(f"The stored file {key} does not exist any more.") from None
                raise

        return self.cache.get(key, fetch)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))
        self.cache.discard(key)

    def close(self) -> None:
        self.client.close()
        self.cache.close()


def _missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in _MISSING

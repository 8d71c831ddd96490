"""Keeping what a deployment converted, so every process serves the network the same way.

The checked ONNX file is stored as a blob and becomes a file of the network
(:data:`~vulcain.frameworks.CONVERTED_FILE`, written in the transaction that ends the
deployment): any process that loads the network later (after a restart, or a worker of a
scale-out deployment, from S3) lays it out with the uploaded files and serves it on
onnxruntime; without it, the reference runtime serves.

Why the file and not a conversion again at each load: converting a TensorFlow network runs
tf2onnx for seconds with TensorFlow in memory, which a worker serving it on onnxruntime
never needs to load; and the stored file is the very graph whose tensors were compared, so
a converter changed later never serves a network without checking it again. A blob no
network file uses any more (the network deleted) is removed like the uploaded ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.orm import Session

from vulcain.db.database import Database
from vulcain.db.models import NetworkFileRow
from vulcain.frameworks import CONVERTED_FILE
from vulcain.inference.acceleration import Acceleration, converted_spec
from vulcain.inference.engine import DeployResult, Engine
from vulcain.inference.network_spec import NetworkSpec
from vulcain.services.blobs import claim_blobs, remove_unused_blobs
from vulcain.storage.base import BlobStore, StagedBlob

log = logging.getLogger(__name__)


@dataclass
class Kept:
    """What the deployment's task records, and the blob to add to the network's files."""

    data: dict[str, object]
    blob: StagedBlob | None = None
    storage: BlobStore | None = None
    """The store ``blob`` is staged in."""

    def add_file(self, session: Session, network_id: int) -> None:
        """In the transaction that ends the deployment: the converted file joins the
        network's files."""
        if self.blob is None:
            return
        claim_blobs(session, [self.blob])
        info = self.blob.info
        session.add(
            NetworkFileRow(
                network_id=network_id, name=CONVERTED_FILE, sha256=info.sha256, size=info.size
            )
        )

    def drop(self, db: Database) -> None:
        """The deployment ended otherwise (deleted meanwhile): remove the unused blob."""
        if self.blob is not None and self.storage is not None:
            remove_unused_blobs(db, self.storage, [self.blob.info])
            self.blob.discard()


def keep_conversion(
    db: Database,
    storage: BlobStore | None,
    engine: Engine,
    network: NetworkSpec,
    result: DeployResult,
) -> Kept:
    """Store the converted file of ``result`` and load the network from it (the engine
    serves it at once); the task data say which runtime serves and what was measured."""
    acceleration = result.acceleration
    reference_mb = round(result.memory_bytes / 2**20, 1)
    if acceleration is None:
        return Kept({"runtime": result.runtime, "resident_memory_mb": reference_mb})
    memory = {acceleration.reference: reference_mb}
    path, blob = acceleration.converted, None
    if path is not None:
        try:
            if storage is None:
                raise RuntimeError("this process has no blob store to keep the converted file")
            blob = _store(storage, path)
            serving = engine.serve(converted_spec(network, blob.info.sha256))
            memory[acceleration.runtime] = round(serving / 2**20, 1)
        except Exception as error:
            log.exception("network %s: the converted file could not be kept", network.id)
            reason = f"the converted network could not be kept: {error}"
            acceleration = acceleration.declined(reason)
            if blob is not None:
                Kept({}, blob, storage).drop(db)
                blob = None
        finally:
            path.unlink(missing_ok=True)
    acceleration = replace(acceleration, memory_mb=memory, converted=None)
    data = {
        "runtime": acceleration.runtime,
        "reference_copies": result.copies,
        "acceleration": acceleration.to_json(),
    }
    return Kept(data, blob, storage)


def _store(storage: BlobStore, path: Path) -> StagedBlob:
    with path.open("rb") as stream:
        blob = storage.stage(stream)
    blob.commit()
    return blob


__all__ = ["Acceleration", "Kept", "keep_conversion"]

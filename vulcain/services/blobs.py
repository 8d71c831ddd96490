"""Which blobs are in use, ordered against uploads by the ``blobs`` row of each key.

An upload stages its content and makes the blob visible (for S3, the long upload) before
any transaction, so no lock is held meanwhile. Then, in the transaction that creates the
network's file rows, it locks the blob's row (:func:`claim_blobs`) and checks that the
blob is still stored, uploading it again in the rare case a removal deleted it in
between. A removal locks the same row, checks that no file row uses the key, and deletes
the blob while holding the lock (:func:`remove_unused_blobs`). Whichever comes second
sees what the first did, on SQLite (one writer at a time) as on PostgreSQL (row locks).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from vulcain.db.database import Database
from vulcain.db.models import BlobRow, NetworkFileRow
from vulcain.storage.base import BlobInfo, BlobStore, StagedBlob

log = logging.getLogger(__name__)


def _lock_blob(session: Session, info: BlobInfo) -> None:
    """Insert the blob's row or, when it exists, write to it: either way this transaction
    now holds its lock until it ends."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(BlobRow).values(sha256=info.sha256, size=info.size)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[BlobRow.sha256], set_={"size": statement.excluded.size}
        )
    )


def claim_blobs(session: Session, blobs: Iterable[StagedBlob]) -> None:
    """Lock the rows of these already committed blobs (in key order, so two uploads never
    deadlock), then commit each again: one existence check, and an upload only when a
    concurrent removal deleted the blob after it was committed the first time."""
    unique = {blob.info.sha256: blob for blob in blobs}
    for key in sorted(unique):
        _lock_blob(session, unique[key].info)
    for key in sorted(unique):
        unique[key].commit()


def remove_unused_blobs(db: Database, storage: BlobStore, infos: Iterable[BlobInfo]) -> list[str]:
    """Delete each blob that no network file uses any more; returns the removed keys."""
    removed = []
    for info in sorted({info.sha256: info for info in infos}.values(), key=lambda i: i.sha256):
        try:
            with db.session() as session:
                _lock_blob(session, info)
                users = session.scalar(
                    select(func.count())
                    .select_from(NetworkFileRow)
                    .where(NetworkFileRow.sha256 == info.sha256)
                )
                if users:
                    continue
                session.execute(delete(BlobRow).where(BlobRow.sha256 == info.sha256))
                storage.delete(info.sha256)
                removed.append(info.sha256)
        except Exception:
            log.exception("could not remove unused blob %s; it stays stored", info.sha256)
    return removed

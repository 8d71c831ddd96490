"""Recognition spec and version rows as the service returns them, and their lookups."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from vulcain.db.models import NetworkRow, RecognitionSpecRow, RecognitionVersionRow, utcnow
from vulcain.errors import NotFound
from vulcain.recognition.schemas import (
    PublicSpec,
    PublicSpecSummary,
    Spec,
    SpecOutput,
    SpecSummary,
    Version,
)
from vulcain.schemas import Account


def to_spec(row: RecognitionSpecRow) -> Spec:
    return Spec(
        id=row.id,
        name=row.name,
        description=row.description,
        metadata=row.metadata_,
        update_date=row.update_date,
        current_version_id=row.current_version_id,
        outputs=_outputs(row),
    )


def to_spec_summary(row: RecognitionSpecRow) -> SpecSummary:
    return SpecSummary(
        id=row.id,
        name=row.name,
        description=row.description,
        metadata=row.metadata_,
        update_date=row.update_date,
        current_version_id=row.current_version_id,
    )


def to_public_spec(row: RecognitionSpecRow) -> PublicSpec:
    return PublicSpec(**dict(to_public_summary(row)), outputs=_outputs(row))


def to_public_summary(row: RecognitionSpecRow) -> PublicSpecSummary:
    """A published spec as anyone sees it: its slug as ``id``."""
    assert row.public_id is not None
    return PublicSpecSummary(
        id=row.public_id,
        name=row.name,
        description=row.description,
        metadata=row.metadata_,
        update_date=row.update_date,
    )


def _outputs(row: RecognitionSpecRow) -> list[SpecOutput]:
    return [SpecOutput.model_validate(output) for output in row.outputs]


def to_version(row: RecognitionVersionRow, spec_name: str, network_name: str) -> Version:
    return Version(
        id=row.id,
        spec_id=row.spec_id,
        spec_name=spec_name,
        network_id=row.network_id,
        network_name=network_name,
        post_processings=row.post_processings,
        update_date=row.create_date,
    )


def find_spec(session: Session, account: Account, ref: int | str) -> RecognitionSpecRow:
    """The caller's spec ``ref`` (int) or the published spec ``ref`` (str);
    :class:`vulcain.errors.NotFound` for anything else."""
    if isinstance(ref, str):
        row = session.scalars(
            select(RecognitionSpecRow).where(RecognitionSpecRow.public_id == ref)
        ).one_or_none()
        if row is None:
            raise NotFound(f"There is no public recognition spec {ref!r}.")
        return row
    row = session.scalars(
        select(RecognitionSpecRow).where(
            RecognitionSpecRow.id == ref, RecognitionSpecRow.account_id == account.id
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"There is no recognition spec {ref} among yours.")
    return row


def version_rows(
    session: Session, condition: object, *, offset: int = 0, limit: int | None = None
) -> list[Version]:
    """Versions matching ``condition``, by id, with the names of their spec and network."""
    query = (
        select(RecognitionVersionRow, RecognitionSpecRow.name, NetworkRow.name)
        .join(RecognitionSpecRow, RecognitionSpecRow.id == RecognitionVersionRow.spec_id)
        .join(NetworkRow, NetworkRow.id == RecognitionVersionRow.network_id)
        .where(condition)  # type: ignore[arg-type]  # a SQL expression
        .order_by(RecognitionVersionRow.id)
        .offset(offset)
        .limit(limit)
    )
    return [to_version(row, spec, network) for row, spec, network in session.execute(query)]


def detach_network(session: Session, network_id: int) -> None:
    """Delete the versions that use network ``network_id`` (a spec whose current version
    is one of them has none), in the caller's transaction."""
    versions = select(RecognitionVersionRow.id).where(
        RecognitionVersionRow.network_id == network_id
    )
    session.execute(
        update(RecognitionSpecRow)
        .where(RecognitionSpecRow.current_version_id.in_(versions))
        .values(current_version_id=None, update_date=utcnow())
    )
    session.execute(
        delete(RecognitionVersionRow).where(RecognitionVersionRow.network_id == network_id)
    )

"""Network rows as the service returns them, and lookup by private id or public slug."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from vulcain.db.models import NetworkRow
from vulcain.errors import NotFound
from vulcain.json_values import answerable
from vulcain.schemas import Account, Network, Preprocessing


def to_network(row: NetworkRow) -> Network:
    return Network(
        id=row.id,
        name=row.name,
        description=row.description,
        metadata=answerable(row.metadata_, "metadata"),
        framework=row.framework,
        preprocessing=Preprocessing.from_stored(row.preprocessing),
        task_id=row.task_id,
        public_id=row.public_id,
        create_date=row.create_date,
        update_date=row.update_date,
    )


def visible_by_id(account: Account) -> list[ColumnElement[bool]]:
    """The condition on a network row for ``account`` to see it by its integer id."""
    return [] if account.is_admin else [NetworkRow.account_id == account.id]


def find_network(
    session: Session, account: Account, ref: int | str, *, load_files: bool = False
) -> NetworkRow:
    """The caller's network ``ref`` (int) or the published network ``ref`` (str);
    :class:`vulcain.errors.NotFound` for anything else. An admin sees every network by its
    id: it may publish any of them, so hiding one from it would protect nothing, and
    reading and publishing agree."""
    options = [selectinload(NetworkRow.files)] if load_files else []
    if isinstance(ref, str):
        row = session.scalars(
            select(NetworkRow).where(NetworkRow.public_id == ref).options(*options)
        ).one_or_none()
        if row is None:
            raise NotFound(f"There is no public network {ref!r}.")
        return row
    row = session.scalars(
        select(NetworkRow).where(NetworkRow.id == ref, *visible_by_id(account)).options(*options)
    ).one_or_none()
    if row is None:
        raise NotFound(f"There is no network {ref}.")
    return row

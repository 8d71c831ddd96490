"""Publishing a network under a public slug: the one implementation the service and the
CLI share (the CLI runs it as the operator, without an account)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from vulcain.db.database import Database
from vulcain.db.models import NetworkRow, utcnow
from vulcain.errors import BadRequest, NotFound
from vulcain.schemas import Network
from vulcain.services._network_rows import to_network

PUBLIC_ID = re.compile(r"^(?!\d+$)[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def publish_network(db: Database, network_id: int, public_id: str) -> Network:
    """Publish network ``network_id`` under the slug ``public_id`` (letters, digits, ``-``,
    ``_`` and ``.``, at most 128, not only digits, unique). No permission check: callers
    decide who may publish."""
    if not isinstance(public_id, str) or not PUBLIC_ID.match(public_id):
        raise BadRequest(
            "public_id: use 1 to 128 letters, digits, '-', '_' or '.', starting with a "
            "letter or digit and not only digits, e.g. imagenet-inception-v1.",
            fields={"public_id": "invalid slug"},
        )
    try:
        with db.session() as session:
            row = session.get(NetworkRow, network_id)
            if row is None:
                raise NotFound(f"There is no network {network_id}.")
            taken = session.scalar(
                select(NetworkRow.id).where(
                    NetworkRow.public_id == public_id, NetworkRow.id != network_id
                )
            )
            if taken is not None:
                raise _slug_taken(public_id)
            row.public_id = public_id
            row.update_date = utcnow()
            session.flush()
            return to_network(row)
    except IntegrityError as error:
        raise _slug_taken(public_id) from error


def _slug_taken(public_id: str) -> BadRequest:
    return BadRequest(
        f"public_id: {public_id!r} is already used by another network; choose another.",
        fields={"public_id": "already used"},
    )

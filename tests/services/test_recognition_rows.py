"""Recognition rows on SQLite and PostgreSQL: deleting a network deletes its versions and
clears the current version of their specs in the same transaction; a spec's versions go
with it; an account's specs go with the account."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.rows import add_network_row
from vulcain.db.database import Database
from vulcain.db.models import (
    AccountRow,
    NetworkRow,
    RecognitionSpecRow,
    RecognitionVersionRow,
)
from vulcain.services._recognition_rows import detach_network


def test_detach_network_and_cascades(db: Database, request):
    name = request.node.name[-20:]
    with db.session() as session:
        account = AccountRow(name=name, app_id=f"{name}-app", api_key_hash=name.ljust(64, "x"))
        session.add(account)
        session.flush()
        doomed, kept = add_network_row(session, account.id), add_network_row(session, account.id)
        spec = RecognitionSpecRow(account_id=account.id, name="s", metadata_={}, outputs=[])
        other_spec = RecognitionSpecRow(account_id=account.id, name="t", metadata_={}, outputs=[])
        session.add_all([spec, other_spec])
        session.flush()
        versions = [
            RecognitionVersionRow(
                account_id=account.id, spec_id=s.id, network_id=n, post_processings=[]
            )
            for s, n in ((spec, doomed), (spec, kept), (other_spec, kept))
        ]
        session.add_all(versions)
        session.flush()
        spec.current_version_id = versions[0].id
        other_spec.current_version_id = versions[2].id
        ids = {"spec": spec.id, "other": other_spec.id, "account": account.id}
        version_ids = [version.id for version in versions]
    with db.session() as session:
        detach_network(session, doomed)
        session.delete(session.get(NetworkRow, doomed))
    with db.session() as session:
        left = session.scalars(
            select(RecognitionVersionRow.id).where(RecognitionVersionRow.id.in_(version_ids))
        ).all()
        assert sorted(left) == version_ids[1:]
        assert session.get(RecognitionSpecRow, ids["spec"]).current_version_id is None
        assert session.get(RecognitionSpecRow, ids["other"]).current_version_id == version_ids[2]
        session.delete(session.get(RecognitionSpecRow, ids["other"]))
    with db.session() as session:
        count = session.scalar(
            select(func.count()).where(RecognitionVersionRow.id.in_(version_ids))
        )
        assert count == 1  # the other spec's version went with it (foreign key cascade)
        session.delete(session.get(AccountRow, ids["account"]))
    with db.session() as session:
        assert session.get(RecognitionSpecRow, ids["spec"]) is None

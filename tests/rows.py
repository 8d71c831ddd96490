"""Rows the database tests write themselves, with only the columns those tests need."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vulcain.db.models import NetworkRow, TaskRow
from vulcain.schemas import TaskKind


def add_network_row(session: Session, account_id: int) -> int:
    """A network of ``account_id`` (with its deployment task); its id."""
    task = TaskRow(account_id=account_id, kind=TaskKind.DEPLOY, name="deploy")
    session.add(task)
    session.flush()
    network = NetworkRow(
        account_id=account_id,
        name="net",
        metadata_={},
        framework="onnx",
        preprocessing={},
        task_id=task.id,
    )
    session.add(network)
    session.flush()
    return network.id

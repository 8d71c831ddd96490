"""What an inference request is checked against before it is queued, and what those checks
load: the deployed network's tensor names are read by them alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from tests.services.test_networks import create, request
from vulcain.db.database import Database
from vulcain.db.models import NetworkRow, TaskRow
from vulcain.errors import UnknownTensorError
from vulcain.schemas import Account, Network
from vulcain.services import Services


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements run on ``db`` inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def deployed(services: Services, account: Account, outputs: list[str]) -> Network:
    """A network whose deployment succeeded with these output names."""
    network = create(services, account)
    asyncio.run(services.tasks.wait(account, network.task_id, 30))
    with services.db.session() as session:
        deployment = session.get(TaskRow, network.task_id)
        deployment.status, deployment.error = "success", None
        row = session.get(NetworkRow, network.id)
        row.inputs = [{"name": "in0"}]
        row.outputs = outputs
    return network


def test_tensor_names_are_loaded_by_inference_checks_only(services, account):
    names = [f"op{index}" for index in range(3000)]
    network = deployed(services, account, names)
    with statements(services.db) as seen:
        services.networks.get(account, network.id)
        services.networks.list(account, public=False, offset=0, limit=1000)
    assert seen
    assert not [sql for sql in seen if "outputs" in sql or "inputs" in sql]
    with statements(services.db) as seen:
        asyncio.run(services.networks.infer(account, network.id, request(outputs=("op2999",))))
    assert [sql for sql in seen if "networks.outputs" in sql]


def test_an_onnx_name_with_a_port_it_does_not_have_is_unknown(services, account):
    network = deployed(services, account, ["out", "hidden"])
    for asked in ("out:0", "hidden:0"):
        with pytest.raises(UnknownTensorError) as refused:
            asyncio.run(services.networks.infer(account, network.id, request(outputs=(asked,))))
        assert (
            refused.value.message
            == UnknownTensorError.for_names([asked], ["out", "hidden"]).message
        )
        assert refused.value.fields == {"output_tensors": f"unknown names: {asked}"}
    assert asyncio.run(
        services.networks.infer(account, network.id, request(outputs=("out", "hidden")))
    )


def test_a_tensor_name_without_its_port_is_unknown_unless_stored(services, account):
    network = deployed(services, account, ["prob:0", "logits", "logits:0"])
    with pytest.raises(UnknownTensorError, match="'prob'"):
        asyncio.run(services.networks.infer(account, network.id, request(outputs=("prob",))))
    assert asyncio.run(
        services.networks.infer(account, network.id, request(outputs=("prob:0", "logits")))
    )
    assert asyncio.run(services.networks.infer(account, network.id, request(outputs=("logits:0",))))

from __future__ import annotations

import asyncio
import io
import threading
import time

import numpy as np
import orjson
from sqlalchemy import select

from tests.services.conftest import open_files
from tests.tasks.conftest import IDENTITY_PREPROCESSING, png_request
from vulcain.db.database import Database
from vulcain.db.models import NetworkRow, TaskRow
from vulcain.services import Services
from vulcain.tasks.payloads import InferenceWork
from vulcain.tasks.queue import TaskQueue
from vulcain.tasks.runner import INTERNAL_ERROR


def create_identity(services, account, identity_model):
    files = open_files(identity_model)
    try:
        return services.networks.create(
            account,
            name="identity",
            description="",
            metadata={},
            framework="onnx",
            preprocessing=IDENTITY_PREPROCESSING,
            files=files,
        )
    finally:
        for stream in files.values():
            stream.close()


def test_deploy_then_inference_on_a_real_onnx_network(services, account, identity_model, image):
    network = create_identity(services, account, identity_model)
    deployment = asyncio.run(services.tasks.wait(account, network.task_id, 30))
    assert deployment.status == "success", deployment.error
    deployed = orjson.loads(deployment.data)
    [spec] = deployed["inputs"]
    assert deployed["outputs"] == ["out"]  # the network's own outputs, offered first
    assert deployed["unbatched_outputs"] == []
    assert spec["name"] == "data" and spec["dtype"] == "float32"
    assert spec["shape"] == [None, 3, None, None]
    with services.db.session() as session:
        row = session.get(NetworkRow, network.id)
        assert "out" in row.outputs
        assert row.inputs == [spec]

    task_id = asyncio.run(services.networks.infer(account, network.id, png_request(image)))
    task = asyncio.run(services.tasks.wait(account, task_id, 30))
    assert task.status == "success", task.error
    [tensor] = orjson.loads(task.data)["tensors"]
    assert tensor["name"] == "out"
    assert tensor["shape"] == tensor["dims"] == [1, 3, 6, 8]
    expected = image.astype(np.float32).transpose(2, 0, 1).ravel()
    np.testing.assert_allclose(tensor["data"], expected, rtol=1e-6)


def test_a_finished_task_is_not_run_or_written_again(services, account, identity_model):
    network = create_identity(services, account, identity_model)
    done = asyncio.run(services.tasks.wait(account, network.task_id, 30))
    assert done.status == "success"
    services.runner(network.task_id)
    assert not services.runner.finish(network.task_id, error="late duplicate")
    assert asyncio.run(services.tasks.get(account, network.task_id)) == done


def test_unreadable_image_ends_the_task_in_error(services, account, identity_model, image):
    network = create_identity(services, account, identity_model)
    asyncio.run(services.tasks.wait(account, network.task_id, 30))
    request = png_request(image)
    request.inputs[0].image.source = b"not an image at all"
    task_id = asyncio.run(services.networks.infer(account, network.id, request))
    task = asyncio.run(services.tasks.wait(account, task_id, 30))
    assert task.status == "error"
    assert task.error and task.error != INTERNAL_ERROR


def test_wait_returns_at_the_timeout_or_when_woken(services, account):
    with services.db.session() as session:
        row = TaskRow(account_id=account.id, kind="inference", name="never submitted")
        session.add(row)
        session.flush()
        task_id = row.id
    started = time.monotonic()
    assert asyncio.run(services.tasks.wait(account, task_id, 0.3)).status == "pending"
    assert time.monotonic() - started >= 0.3

    finisher = threading.Timer(0.2, services.runner.finish, args=(task_id,), kwargs={"data": b"{}"})
    started = time.monotonic()
    finisher.start()
    task = asyncio.run(services.tasks.wait(account, task_id, 20))
    assert task.status == "success" and task.data == b"{}"
    assert time.monotonic() - started < 5


def test_wait_is_capped_by_the_settings(settings, services, account):
    services.settings.task_wait_max_seconds = 0.2
    with services.db.session() as session:
        row = TaskRow(account_id=account.id, kind="inference", name="capped")
        session.add(row)
        session.flush()
        task_id = row.id
    started = time.monotonic()
    assert asyncio.run(services.tasks.wait(account, task_id, 3600)).status == "pending"
    assert time.monotonic() - started < 2


def test_list_tasks_by_ids(services, account, other_account):
    ids = []
    with services.db.session() as session:
        for index in range(3):
            row = TaskRow(account_id=account.id, kind="inference", name=f"t{index}")
            session.add(row)
            session.flush()
            ids.append(row.id)
        foreign = TaskRow(account_id=other_account.id, kind="inference", name="foreign")
        session.add(foreign)
        session.flush()
        foreign_id = foreign.id
    count, page = services.tasks.list(account, [ids[2], ids[0], foreign_id], offset=0, limit=10)
    assert count == 2 and [task.id for task in page] == [ids[0], ids[2]]
    count, page = services.tasks.list(account, ids, offset=1, limit=1)
    assert count == 3 and [task.id for task in page] == [ids[1]]
    with services.db.session() as session:
        mine = session.scalars(select(TaskRow.id).where(TaskRow.account_id == account.id)).all()
    assert services.tasks.list(account, None, offset=0, limit=1000)[0] == len(mine)


class _HeldQueue(TaskQueue):
    """Keeps what is submitted for the test to run by hand."""

    def __init__(self) -> None:
        self.submitted: list[tuple[int, InferenceWork | None]] = []

    def submit(self, task_id: int, work: InferenceWork | None = None) -> None:
        self.submitted.append((task_id, work))

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_closing_writes_what_ran_and_leaves_the_rest_pending_for_the_next_start(
    settings, identity_model, image
):
    queue = _HeldQueue()
    services = Services(settings, queue=queue, out=io.StringIO())
    services.start()
    account = services.accounts.create("late")[0]
    network = create_identity(services, account, identity_model)
    services.runner(network.task_id)
    for _ in range(20):
        asyncio.run(services.networks.infer(account, network.id, png_request(image)))
    inferences = queue.submitted[1:]
    for task_id, work in inferences:
        assert work is not None
        services.runner.begin_inference(work).written(task_id)
    services.close()  # while the engine still holds most of them
    ids = [task_id for task_id, _ in inferences]
    assert set(_statuses(settings, ids)) <= {"success", "pending"}  # nothing half-written

    restarted = Services(settings, out=io.StringIO())
    restarted.start()
    try:
        for task_id in ids:
            asyncio.run(restarted.tasks.wait(account, task_id, 30))
    finally:
        restarted.close()
    assert _statuses(settings, ids) == ["success"] * len(ids)


def _statuses(settings, task_ids: list[int]) -> list[str]:
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            return list(
                session.scalars(
                    select(TaskRow.status).where(TaskRow.id.in_(task_ids)).order_by(TaskRow.id)
                ).all()
            )
    finally:
        database.close()


def test_an_inference_finished_before_its_task_is_written_is_recorded_once_it_is(
    settings, identity_model, image
):
    queue = _HeldQueue()
    services = Services(settings, queue=queue, out=io.StringIO())
    services.start()
    try:
        account = services.accounts.create("early")[0]
        network = create_identity(services, account, identity_model)
        services.runner(network.task_id)
        task_id = asyncio.run(services.networks.infer(account, network.id, png_request(image)))
        _, work = queue.submitted[-1]
        assert work is not None
        run = services.runner.begin_inference(work)
        deadline = time.monotonic() + 30
        while run._outputs is None and time.monotonic() < deadline:  # the engine is done first
            time.sleep(0.01)
        assert run._outputs is not None
        assert asyncio.run(services.tasks.get(account, task_id)).status == "pending"
        run.written(task_id)
        task = asyncio.run(services.tasks.wait(account, task_id, 30))
        assert task.status == "success"
        assert orjson.loads(task.data)["tensors"][0]["name"] == "out"
    finally:
        services.close()

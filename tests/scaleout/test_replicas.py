"""What several API replicas share: one database, one broker queue."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import uuid
from datetime import timedelta

import pytest
from kombu import Connection
from sqlalchemy import select, update

from tests.servers import free_port
from tests.tasks.test_runner import create_identity
from vulcain.db.database import Database
from vulcain.db.models import AccountRow, TaskRow, utcnow
from vulcain.services import Services
from vulcain.services.accounts import AccountService
from vulcain.tasks.celery_app import RUN_TASK
from vulcain.tasks.celery_queue import CeleryQueue
from vulcain.tasks.maintenance import ResubmitLoop

pytestmark = pytest.mark.scaleout

REPLICAS = 4


def _at_once(target, count: int = REPLICAS) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = target(index)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


@pytest.fixture
def empty_database(database_url: str) -> str:
    db = Database(database_url)
    db.migrate()
    with db.session() as session:
        session.execute(AccountRow.__table__.delete())
    db.close()
    return database_url


def test_replicas_starting_on_an_empty_database_create_one_admin(empty_database):
    databases = [Database(empty_database) for _ in range(REPLICAS)]
    try:
        results = _at_once(lambda index: AccountService(databases[index]).create_first_admin())
        created = [result for result in results if result is not None]
        assert len(created) == 1
        with databases[0].session() as session:
            assert session.scalars(select(AccountRow.name)).all() == ["admin"]
    finally:
        for db in databases:
            db.close()


def test_replicas_sharing_a_bootstrap_key_create_one_admin(empty_database):
    databases = [Database(empty_database) for _ in range(REPLICAS)]
    key = "bootstrap-" + uuid.uuid4().hex
    try:
        accounts = _at_once(lambda index: AccountService(databases[index]).ensure_admin(key))
        assert len({account.id for account in accounts}) == 1
        assert all(account.is_admin for account in accounts)
        with databases[0].session() as session:
            assert len(session.scalars(select(AccountRow.id)).all()) == 1
    finally:
        for db in databases:
            db.close()


@pytest.fixture
def broker_settings(settings, amqp_url):
    return settings.model_copy(
        update={"broker_url": amqp_url, "task_queue": f"test-{uuid.uuid4().hex[:8]}"}
    )


@pytest.fixture
def broker_services(broker_settings):
    services = Services(broker_settings, out=io.StringIO())
    services.start()
    yield services
    services.close()
    with Connection(broker_settings.broker_url) as connection:
        connection.default_channel.queue_delete(broker_settings.task_queue)


def _drain(settings) -> list:
    """Take every message off the queue; return them."""
    messages = []
    with Connection(settings.broker_url) as connection:
        channel = connection.default_channel
        while (message := channel.basic_get(settings.task_queue)) is not None:
            messages.append(message)
            channel.basic_ack(message.delivery_tag)
    return messages


def test_a_replica_publishes_persistent_task_ids_and_runs_nothing(
    broker_services, broker_settings, identity_model
):
    assert isinstance(broker_services.queue, CeleryQueue)
    account = broker_services.accounts.create("publisher")[0]
    network = create_identity(broker_services, account, identity_model)
    assert broker_services.queue.backlog() == 1
    (message,) = _drain(broker_settings)
    assert message.headers["task"] == RUN_TASK
    assert message.properties["delivery_mode"] == 2
    assert json.loads(message.body)[0] == [network.task_id]
    assert asyncio.run(broker_services.tasks.get(account, network.task_id)).status == "pending"
    with Connection(broker_settings.broker_url) as connection:
        declared = connection.default_channel.queue_declare(
            broker_settings.task_queue, passive=True
        )
        assert declared.message_count == 0


def test_stale_pending_tasks_are_published_again_only_when_the_broker_queue_is_empty(
    broker_services, broker_settings, identity_model
):
    account = broker_services.accounts.create("stale")[0]
    network = create_identity(broker_services, account, identity_model)
    with broker_services.db.session() as session:
        session.execute(
            update(TaskRow)
            .where(TaskRow.id == network.task_id)
            .values(update_date=utcnow() - timedelta(hours=1))
        )
    loop = ResubmitLoop(
        broker_services.db, broker_services.queue, broker_services.queue.backlog, 60
    )
    assert loop.run_once() == 0  # the broker still holds it
    assert len(_drain(broker_settings)) == 1  # lost, as if its publish had failed
    assert loop.run_once() == 1
    (message,) = _drain(broker_settings)
    assert json.loads(message.body)[0] == [network.task_id]
    assert loop.run_once() == 0  # its age now counts from the new publish


def test_a_create_succeeds_while_the_broker_is_down_and_the_task_stays_pending(
    settings, identity_model
):
    down = settings.model_copy(
        update={"broker_url": f"amqp://guest:guest@127.0.0.1:{free_port()}//"}
    )
    services = Services(down, out=io.StringIO())
    services.start()
    try:
        account = services.accounts.create("offline")[0]
        network = create_identity(services, account, identity_model)
        assert asyncio.run(services.tasks.get(account, network.task_id)).status == "pending"
        assert services.queue.backlog() is None
    finally:
        services.close()

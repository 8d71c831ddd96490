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
from kombu.exceptions import OperationalError
from sqlalchemy import select, update

from tests.external import RABBITMQ
from tests.servers import free_port, silent_tcp_proxy
from tests.tasks.test_runner import create_identity
from vulcain.db.database import Database, advisory_lock
from vulcain.db.models import AccountRow, TaskRow, utcnow
from vulcain.services import Services
from vulcain.services.accounts import AccountService
from vulcain.tasks.celery_app import RUN_TASK
from vulcain.tasks.celery_queue import CeleryQueue
from vulcain.tasks.maintenance import _RESUBMIT_LOCK_ID, ResubmitLoop

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


def test_a_publish_the_broker_never_confirms_fails_and_frees_the_resubmit_lock(
    broker_services, broker_settings, identity_model
):
    # A broker that stops answering on open connections (seen while RabbitMQ restarts):
    # a publish waiting forever for its confirmation held the re-publish round, and the
    # cluster-wide lock, forever, so tasks whose first publish failed stayed pending.
    account = broker_services.accounts.create("silent")[0]
    network = create_identity(broker_services, account, identity_model)
    _drain(broker_settings)  # lost, as if its publish had failed
    with broker_services.db.session() as session:
        session.execute(
            update(TaskRow)
            .where(TaskRow.id == network.task_id)
            .values(update_date=utcnow() - timedelta(hours=1))
        )
    vhost = broker_settings.broker_url.rsplit("/", 1)[1]
    with silent_tcp_proxy(RABBITMQ) as proxy:
        url = f"amqp://guest:guest@{proxy.address}/{vhost}"
        queue = CeleryQueue(broker_settings.model_copy(update={"broker_url": url}))
        try:
            queue.submit(0)  # the connection works, then falls silent
            _drain(broker_settings)
            proxy.silence()
            loop = ResubmitLoop(broker_services.db, queue, lambda: 0, 60)
            rounds: list = []
            round_thread = threading.Thread(
                target=lambda: rounds.append(_raised(loop.run_once)), daemon=True
            )
            round_thread.start()
            round_thread.join(90)
            assert not round_thread.is_alive(), "the re-publish round hangs on the silent broker"
        finally:
            queue.close()
    assert isinstance(rounds[0], Exception)
    with broker_services.db.session() as session:
        assert advisory_lock(session, _RESUBMIT_LOCK_ID, wait=False)
    # The next round, on a broker that answers, publishes the task again.
    assert ResubmitLoop(broker_services.db, broker_services.queue, lambda: 0, 60).run_once() >= 1
    published = [json.loads(message.body)[0] for message in _drain(broker_settings)]
    assert [network.task_id] in published


def test_a_task_whose_publish_failed_is_published_again_even_behind_a_backlog(
    broker_services, broker_settings, identity_model
):
    account = broker_services.accounts.create("unreachable")[0]
    create_identity(broker_services, account, identity_model)
    assert broker_services.queue.backlog() == 1  # another task the workers have yet to take
    port = free_port()
    vhost = broker_settings.broker_url.rsplit("/", 1)[1]
    queue = CeleryQueue(
        broker_settings.model_copy(
            update={"broker_url": f"amqp://guest:guest@127.0.0.1:{port}/{vhost}"}
        )
    )
    try:
        with pytest.raises(OperationalError):
            queue.submit(424242)  # nothing listens there: the broker is unreachable
        assert queue.unpublished() == [424242]
        with silent_tcp_proxy(RABBITMQ, port):  # the broker is back
            loop = ResubmitLoop(broker_services.db, queue, broker_services.queue.backlog, 60)
            assert loop.run_once() == 1
        assert queue.unpublished() == []
    finally:
        queue.close()
    published = [json.loads(message.body)[0] for message in _drain(broker_settings)]
    assert [424242] in published


def _raised(call) -> object:
    try:
        return call()
    except Exception as error:
        return error

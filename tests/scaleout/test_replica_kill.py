"""Scale-out: a task whose id an API replica answered survives a ``kill -9`` of that
replica. One ``vulcain serve`` replica and ``vulcain worker`` processes on one PostgreSQL
database, one RabbitMQ virtual host and one moto S3 bucket.

With the workers stopped, the replica gets a stream of inference requests, each with its
own image; once the API says that at least ``MIN_PENDING`` answered tasks are ``pending``,
the replica is killed with SIGKILL while requests are still arriving. A new replica and a
worker start; every task id that was answered must finish ``success`` with exactly the
tensor of its own image, and none may be unknown (404).

The re-publish of stale pending tasks (``VULCAIN_TASK_RESUBMIT_SECONDS``) is set to an
hour so that it cannot make up for a lost message: every answered task must have been
committed to the database and published to the broker before its id was answered. The
test fails when a replica answers before its task is committed (a 404 after the kill),
or before its id is published with the broker's confirmation (a publish buffered in the
replica, or sent without waiting: the task stays pending), and when a result is written
to the wrong task (a tensor differs).

The embedded counterpart, with the request stream, images and result check used here, is
tests/api/test_durability.py.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator

import pytest

from tests.api.test_durability import (
    MIN_PENDING,
    RequestStream,
    check_all_finished,
    preprocessing,
    wait_until_pending,
)
from tests.builders import onnx_identity
from tests.scaleout.deployment import Deployment, create_network, env_of, wait_task

pytestmark = [pytest.mark.scaleout, pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory, postgres_database_url, amqp_url, s3_endpoint, aws_env
) -> Iterator[Deployment]:
    """One replica and one worker, ready."""
    import boto3

    bucket = f"vulcain-kill-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    api_key = "kill-" + secrets.token_hex(16)
    env = env_of(
        **aws_env,
        VULCAIN_DATABASE_URL=postgres_database_url,
        VULCAIN_STORAGE_URL=f"s3://{bucket}/networks",
        VULCAIN_S3_ENDPOINT_URL=s3_endpoint,
        VULCAIN_BROKER_URL=amqp_url,
        VULCAIN_TASK_QUEUE=f"kill-{uuid.uuid4().hex[:8]}",
        VULCAIN_BOOTSTRAP_API_KEY=api_key,
        VULCAIN_WORKERS="1",
        VULCAIN_TASK_RESUBMIT_SECONDS="3600",
    )
    deployment = Deployment(tmp_path_factory.mktemp("replica-kill"), env, api_key)
    try:
        processes = [deployment.start_replica(), deployment.start_worker()]
        for process in processes:
            deployment.wait_ready(process)
        yield deployment
    finally:
        deployment.close()


def test_answered_tasks_survive_a_kill_9_of_the_api_replica(deployment, tmp_path):
    files = onnx_identity(tmp_path / "identity")
    with deployment.http(0) as http:
        network = create_network(http, files, preprocessing(batched_output=True))
        deployed = wait_task(http, network["task_id"])
        assert deployed["status"] == "success", (deployed, deployment.logs())
        deployment.stop_workers()

        replica = deployment.replicas[0]
        stream = RequestStream(replica.url + "/v0.7", deployment.api_key, network["id"])
        stream.start()
        try:
            pending = wait_until_pending(http, stream, MIN_PENDING)
            stream.expect_death()
            replica.kill()
        finally:
            stream.stop()
    assert not stream.failures, (stream.failures[:5], deployment.logs())
    assert pending >= MIN_PENDING

    restarted = deployment.start_replica()
    deployment.wait_ready(restarted)
    deployment.ensure_workers(1)
    with deployment.http(len(deployment.replicas) - 1) as http:
        check_all_finished(http, stream.answered)

"""Real services for the scale-out tests, created and removed by the tests themselves:
an S3-compatible server (moto's ThreadedMotoServer) on a free port, a RabbitMQ virtual
host per test session, a free Redis database number, and (from tests/conftest.py) a
fresh PostgreSQL database per module. Where RabbitMQ and Redis are, and what happens when
they do not answer: tests/external.py."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import boto3
import pytest
import redis
from moto.server import ThreadedMotoServer

from tests.external import RABBITMQ, REDIS, require
from tests.servers import free_port
from tests.tasks.conftest import identity_model, image

__all__ = ["identity_model", "image"]

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def rabbitmqctl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=120, check=check
    )


@pytest.fixture(scope="session")
def aws_env() -> Iterator[dict[str, str]]:
    """Dummy AWS credentials in this process's environment (boto3 reads them)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in AWS_ENV.items():
            patch.setenv(name, value)
        yield dict(AWS_ENV)


@pytest.fixture(scope="session")
def s3_endpoint(aws_env: dict[str, str]) -> Iterator[str]:
    """The URL of a moto S3 server started for the session."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    """A new, empty bucket."""
    name = f"vulcain-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    """A broker URL on a RabbitMQ virtual host of this session, deleted after it."""
    require("RabbitMQ")
    vhost = f"vulcain-test-{uuid.uuid4().hex[:10]}"
    try:
        rabbitmqctl("add_vhost", vhost)
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.fail(f"cannot create a RabbitMQ virtual host (needs rabbitmqctl as root): {error}")
    yield f"amqp://guest:guest@{RABBITMQ}/{vhost}"
    rabbitmqctl("delete_vhost", vhost, check=False)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A URL on a Redis database number that was empty; emptied again afterwards."""
    require("Redis")
    for number in range(15, 0, -1):
        client = redis.Redis.from_url(f"{REDIS}/{number}")
        if client.dbsize() == 0:
            break
        client.close()
    else:
        pytest.fail("no empty Redis database number (1-15) for the test")
    yield f"{REDIS}/{number}"
    client.flushdb()
    client.close()

"""A ``vulcain worker`` serves its own Prometheus metrics (``VULCAIN_METRICS_PORT``): after
N inferences through an API replica, the worker's stage histograms count N."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from tests.builders import onnx_identity
from tests.scaleout.deployment import Deployment, create_network, env_of, infer, wait_task
from tests.scrapes import scrape
from tests.servers import free_port

pytestmark = [pytest.mark.scaleout, pytest.mark.slow, pytest.mark.postgres]

INFERENCES = 10
STAGES = ("read", "decode", "preprocess", "queue", "forward", "encode")


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory, postgres_database_url, amqp_url, s3_endpoint, aws_env
) -> Iterator[Deployment]:
    import boto3

    bucket = f"vulcain-metrics-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    api_key = "metrics-" + secrets.token_hex(16)
    env = env_of(
        **aws_env,
        VULCAIN_DATABASE_URL=postgres_database_url,
        VULCAIN_STORAGE_URL=f"s3://{bucket}/networks",
        VULCAIN_S3_ENDPOINT_URL=s3_endpoint,
        VULCAIN_BROKER_URL=amqp_url,
        VULCAIN_TASK_QUEUE=f"metrics-{uuid.uuid4().hex[:8]}",
        VULCAIN_BOOTSTRAP_API_KEY=api_key,
        VULCAIN_WORKERS="1",
    )
    deployment = Deployment(tmp_path_factory.mktemp("worker-metrics"), env, api_key)
    try:
        yield deployment
    finally:
        deployment.close()


def test_a_worker_counts_the_stages_of_the_inferences_it_ran(deployment, tmp_path):
    port = free_port()
    processes = [deployment.start_replica(), deployment.start_worker(METRICS_PORT=str(port))]
    for process in processes:
        deployment.wait_ready(process)
    preprocessing = {"inputs": [{"tensor_name": "data", "image": {"target_size": "8x8"}}]}
    with deployment.http(0) as http:
        network = create_network(http, onnx_identity(tmp_path / "m"), preprocessing)
        assert wait_task(http, network["task_id"])["status"] == "success"
        task_ids = []
        for seed in range(INFERENCES):
            pixels = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
            png = base64.b64encode(cv2.imencode(".png", pixels)[1]).decode()
            task_ids.append(infer(http, network["id"], "data:image/*;base64," + png))
        for task_id in task_ids:
            assert wait_task(http, task_id)["status"] == "success", deployment.logs()
    metrics = scrape(f"http://127.0.0.1:{port}/metrics")
    label = str(network["id"])
    for stage in STAGES:
        count = metrics.value("vulcain_inference_stage_seconds_count", network=label, stage=stage)
        assert count == INFERENCES, (stage, count)
    assert metrics.value("vulcain_batch_size_sum", network=label) == INFERENCES
    assert metrics.value("vulcain_tasks_total", kind="inference", outcome="success") == INFERENCES
    assert metrics.value("vulcain_tasks_total", kind="deploy", outcome="success") == 1

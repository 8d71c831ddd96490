"""End to end: 2 ``vulcain serve`` replicas and 2 ``vulcain worker`` processes on one
PostgreSQL database, one RabbitMQ virtual host and one moto S3 bucket.

Inference images come from a local HTTP server that answers slowly, so tasks are still
running when a worker is killed or the broker restarts."""

from __future__ import annotations

import secrets
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest

from tests.builders import onnx_identity
from tests.scaleout.conftest import rabbitmqctl
from tests.scaleout.deployment import Deployment, create_network, env_of, infer, wait_task

pytestmark = [pytest.mark.scaleout, pytest.mark.slow, pytest.mark.postgres]

HEIGHT, WIDTH = 6, 8
PREPROCESSING = {
    "inputs": [
        {"tensor_name": "data", "image": {"target_size": f"{WIDTH}x{HEIGHT}", "pixel_scaling": 255}}
    ],
    "batched_output": True,
}
IMAGE_DELAY_S = 0.4
PROMPT_S = 1.0


class SlowImageServer:
    """Serves one PNG after ``delay`` seconds; counts the requests."""

    def __init__(self, png: bytes, delay: float) -> None:
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(png)))
                self.end_headers()
                self.wfile.write(png)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/image.png"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def image_server(pixels: np.ndarray) -> Iterator[SlowImageServer]:
    server = SlowImageServer(cv2.imencode(".png", pixels)[1].tobytes(), IMAGE_DELAY_S)
    yield server
    server.close()


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory, postgres_database_url, amqp_url, s3_endpoint, aws_env
) -> Iterator[Deployment]:
    import boto3

    bucket = f"vulcain-e2e-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    api_key = "e2e-" + secrets.token_hex(16)
    queue = f"e2e-{uuid.uuid4().hex[:8]}"
    env = env_of(
        **aws_env,
        VULCAIN_DATABASE_URL=postgres_database_url,
        VULCAIN_STORAGE_URL=f"s3://{bucket}/networks",
        VULCAIN_S3_ENDPOINT_URL=s3_endpoint,
        VULCAIN_BROKER_URL=amqp_url,
        VULCAIN_TASK_QUEUE=queue,
        VULCAIN_BOOTSTRAP_API_KEY=api_key,
        VULCAIN_FETCH_ALLOW_HOSTS="127.0.0.1",
        VULCAIN_WORKERS="1",
        VULCAIN_MAX_BATCH_SIZE="4",
        VULCAIN_TASK_RESUBMIT_SECONDS="4",
    )
    deployment = Deployment(tmp_path_factory.mktemp("deployment"), env, api_key)
    try:
        processes = [deployment.start_replica() for _ in range(2)]
        processes += [deployment.start_worker() for _ in range(2)]
        for process in processes:
            deployment.wait_ready(process)
        yield deployment
    finally:
        deployment.close()


@pytest.fixture(scope="module")
def network(deployment: Deployment, tmp_path_factory) -> dict:
    """Created on replica A, deployed by a worker, seen from replica B."""
    files = onnx_identity(tmp_path_factory.mktemp("identity"))
    with deployment.http(0) as replica_a, deployment.http(1) as replica_b:
        created = create_network(replica_a, files, PREPROCESSING)
        task = wait_task(replica_b, created["task_id"])
        assert task["status"] == "success", (task, deployment.logs())
        return created


@pytest.fixture
def two_workers(deployment: Deployment) -> Deployment:
    deployment.ensure_workers(2)
    return deployment


def _expected(pixels: np.ndarray) -> list[float]:
    return pixels.astype(np.float32).transpose(2, 0, 1).ravel().tolist()


def _run_all(deployment: Deployment, task_ids: list[int], pixels: np.ndarray) -> None:
    with deployment.http(1) as replica_b:
        tasks = [wait_task(replica_b, task_id, timeout=120) for task_id in task_ids]
    failed = [task for task in tasks if task["status"] != "success"]
    about = ["published", "broker", "prefetch"]
    for task in failed:
        about += [f"task_id={task['id']} ", f"task {task['id']} ", f"run_task[{task['id']}."]
    assert not failed, f"{failed}\n{deployment.lines_about(about)}"
    for task in tasks:
        assert task["data"]["tensors"][0]["data"] == _expected(pixels)


def _submit(deployment: Deployment, network: dict, source: str, count: int) -> list[int]:
    task_ids = []
    for index in range(count):
        with deployment.http(index % 2) as replica:
            task_ids.append(infer(replica, network["id"], source))
    return task_ids


def _wait_for_requests(server: SlowImageServer, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while server.requests < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.requests >= count, "the workers did not start fetching images"


def test_create_on_one_replica_infer_through_the_other(two_workers, network, pixels):
    source = (
        "data:image/png;base64,"
        + __import__("base64").b64encode(cv2.imencode(".png", pixels)[1].tobytes()).decode()
    )
    with two_workers.http(1) as replica_b:
        assert replica_b.get(f"/networks/{network['id']}").json()["name"] == "net"
        task_id = infer(replica_b, network["id"], source)
    _run_all(two_workers, [task_id], pixels)


def test_killing_a_worker_mid_run_loses_no_inference(two_workers, network, image_server, pixels):
    image_server.requests = 0
    task_ids = _submit(two_workers, network, image_server.url, 20)
    _wait_for_requests(image_server, 6)
    two_workers.live_workers()[0].kill()
    _run_all(two_workers, task_ids, pixels)
    # The killed worker's tasks were delivered again and fetched their image again.
    assert image_server.requests > 20


def test_a_broker_restart_during_a_run_loses_nothing(two_workers, network, image_server, pixels):
    image_server.requests = 0
    task_ids = _submit(two_workers, network, image_server.url, 10)
    _wait_for_requests(image_server, 4)
    try:
        rabbitmqctl("stop_app")
        # Published while the broker is down: pending in the database, published again later.
        task_ids += _submit(two_workers, network, image_server.url, 2)
    finally:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup", check=False)
    task_ids += _submit(two_workers, network, image_server.url, 4)
    _run_all(two_workers, task_ids, pixels)


def test_tasks_wait_for_a_worker_and_long_poll_on_another_replica_wakes_promptly(
    two_workers, network, image_server, pixels
):
    two_workers.stop_workers()
    task_ids = _submit(two_workers, network, image_server.url, 5)
    with two_workers.http(1) as replica_b:
        assert replica_b.get(f"/tasks/{task_ids[0]}", params={"wait": 1}).json()["status"] == (
            "pending"
        )
        answered: dict = {}

        def long_poll() -> None:
            task = replica_b.get(f"/tasks/{task_ids[-1]}", params={"wait": 60}).json()
            answered.update(task=task, at=time.time())

        poller = threading.Thread(target=long_poll)
        poller.start()
        two_workers.ensure_workers(1)
        poller.join(90)
    task = answered["task"]
    assert task["status"] == "success", (task, two_workers.logs())
    finished = datetime.fromisoformat(task["update_date"].replace("Z", "+00:00")).timestamp()
    assert answered["at"] - finished < PROMPT_S
    _run_all(two_workers, task_ids, pixels)


def test_a_worker_stopped_by_sigterm_finishes_its_running_tasks_and_hands_back_the_rest(
    two_workers, network, image_server, pixels
):
    two_workers.stop_workers()
    two_workers.ensure_workers(1)
    worker = two_workers.live_workers()[0]
    image_server.requests = 0
    task_ids = _submit(two_workers, network, image_server.url, 24)
    _wait_for_requests(image_server, 4)
    worker.popen.send_signal(signal.SIGTERM)
    started = image_server.requests  # each running task has fetched (or is fetching) its image
    assert worker.popen.wait(30) == 0, worker.log()[-3000:]
    assert "warm shutdown" in worker.log().lower()
    with two_workers.http(1) as replica_b:
        tasks = [replica_b.get(f"/tasks/{task_id}").json() for task_id in task_ids]
    statuses = [task["status"] for task in tasks]
    # Nothing failed or was half-written: the tasks that were running finished with their
    # result, the others are pending for the next worker.
    assert set(statuses) <= {"success", "pending"}, statuses
    assert statuses.count("success") >= started, (statuses, started)
    assert "pending" in statuses, "the worker ran every task before it stopped: no test"
    for task in tasks:
        if task["status"] == "success":
            assert task["data"]["tensors"][0]["data"] == _expected(pixels)
    two_workers.ensure_workers(1)
    _run_all(two_workers, task_ids, pixels)


@pytest.fixture(scope="module", autouse=True)
def _broker_running_after_module() -> Iterator[None]:
    yield
    if subprocess.run(["rabbitmqctl", "status"], capture_output=True).returncode != 0:
        rabbitmqctl("start_app", check=False)

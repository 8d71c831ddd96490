"""End-to-end images/s of a scale-out deployment with 1 and then 2 worker processes.

Run as root on a machine with PostgreSQL (127.0.0.1:5432, trust) and RabbitMQ
(127.0.0.1:5672, guest): .venv/bin/python benchmarks/scaleout.py [--requests 300]
[--clients 32]. It creates a PostgreSQL database, a RabbitMQ virtual host and a moto S3
server, starts 2 ``vulcain serve`` replicas, deploys a small CNN (64x64 input, built like
tests/builders.py does) and sends ``--requests`` inference requests (a 640x480 JPEG as a
base64 data URI) from ``--clients`` threads through both replicas, each client waiting for
its task with the long-poll. Everything it created is removed at the end.
"""

from __future__ import annotations

import argparse
import base64
import logging
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import cv2
import numpy as np
import psycopg
from moto.server import ThreadedMotoServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.builders import onnx_small_cnn
from tests.scaleout.deployment import (
    Deployment,
    create_network,
    env_of,
    infer,
    wait_task,
)
from tests.servers import free_port

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}
SIZE = 64
PREPROCESSING = {
    "inputs": [{"tensor_name": "data", "image": {"target_size": f"{SIZE}x{SIZE}"}}],
    "batched_output": True,
}


@contextmanager
def postgres_database() -> Iterator[str]:
    name = f"vulcain_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{POSTGRES.split('://')[1]}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def rabbit_vhost() -> Iterator[str]:
    vhost = f"vulcain-bench-{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(
        ["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True)


@contextmanager
def s3_server() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def jpeg_source() -> str:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    pixels = cv2.GaussianBlur(pixels, (9, 9), 3)
    jpeg = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


def run_load(deployment: Deployment, network_id: int, requests: int, clients: int) -> float:
    """Images per second: ``requests`` inferences from ``clients`` threads, each waiting
    for its result before sending the next."""
    source = jpeg_source()
    remaining = [requests]
    lock = threading.Lock()
    failures: list[dict] = []

    def client(index: int) -> None:
        with deployment.http(index % len(deployment.replicas)) as http:
            while True:
                with lock:
                    if remaining[0] == 0:
                        return
                    remaining[0] -= 1
                task = wait_task(http, infer(http, network_id, source, "prob"))
                if task["status"] != "success":
                    failures.append(task)

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} inferences failed, e.g. {failures[0]}")
    return requests / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--max-workers", type=int, default=2)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    with (
        postgres_database() as database_url,
        rabbit_vhost() as broker_url,
        s3_server() as s3_endpoint,
        tempfile.TemporaryDirectory(prefix="vulcain-bench-") as root,
    ):
        bucket = f"vulcain-bench-{uuid.uuid4().hex[:8]}"
        boto3.client("s3", endpoint_url=s3_endpoint, **_boto_credentials()).create_bucket(
            Bucket=bucket
        )
        api_key = secrets.token_hex(16)
        env = env_of(
            **AWS,
            VULCAIN_DATABASE_URL=database_url,
            VULCAIN_STORAGE_URL=f"s3://{bucket}/networks",
            VULCAIN_S3_ENDPOINT_URL=s3_endpoint,
            VULCAIN_BROKER_URL=broker_url,
            VULCAIN_BOOTSTRAP_API_KEY=api_key,
        )
        deployment = Deployment(Path(root), env, api_key)
        try:
            replicas = [deployment.start_replica() for _ in range(2)]
            for process in [*replicas, deployment.start_worker()]:
                deployment.wait_ready(process)
            files = onnx_small_cnn(Path(root) / "model", height=SIZE, width=SIZE)
            with deployment.http(0) as http:
                network = create_network(http, files, PREPROCESSING, name="bench")
                assert wait_task(http, network["task_id"])["status"] == "success"
            print(f"{args.requests} requests, {args.clients} clients, 2 API replicas")
            for workers in range(1, args.max_workers + 1):
                deployment.ensure_workers(workers)
                run_load(deployment, network["id"], min(args.requests, 32), args.clients)  # warm
                rate = run_load(deployment, network["id"], args.requests, args.clients)
                print(f"  {workers} worker process(es): {rate:7.1f} images/s")
        finally:
            deployment.close()


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": AWS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": AWS["AWS_SECRET_ACCESS_KEY"],
        "region_name": AWS["AWS_DEFAULT_REGION"],
    }


if __name__ == "__main__":
    main()

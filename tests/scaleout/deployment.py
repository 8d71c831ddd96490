"""A scale-out deployment in processes: ``vulcain serve`` replicas and ``vulcain worker``
processes sharing one PostgreSQL database, one RabbitMQ queue and one S3 bucket."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.servers import (
    VULCAIN_BIN,
    answers,
    free_port,
    stop_process,
    vulcain_env,
    wait_until_ready,
)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    url: str = ""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """``kill -9``: no cleanup, no acknowledgement of running tasks."""
        with contextlib.suppress(ProcessLookupError):
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> None:
        stop_process(self.popen, timeout_s=30.0)


@dataclass
class Deployment:
    root: Path
    env: dict[str, str]
    api_key: str
    replicas: list[Process] = field(default_factory=list)
    workers: list[Process] = field(default_factory=list)
    _count: int = 0

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> Process:
        self._count += 1
        folder = self.root / f"{name}-{self._count}"
        folder.mkdir(parents=True)
        log_path = folder / "output.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                [str(VULCAIN_BIN), *args],
                env={**self.env, "VULCAIN_DATA_DIR": str(folder / "data"), **env},
                cwd=folder,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return Process(name, popen, log_path)

    def start_replica(self) -> Process:
        port = free_port()
        process = self._spawn("api", ["serve"], {"VULCAIN_PORT": str(port)})
        process.url = f"http://127.0.0.1:{port}"
        self.replicas.append(process)
        return process

    def start_worker(self, **settings: str) -> Process:
        """A ``vulcain worker`` with extra ``VULCAIN_*`` settings, e.g. ``METRICS_PORT="9100"``."""
        env = {f"VULCAIN_{name}": value for name, value in settings.items()}
        process = self._spawn("worker", ["worker", "--loglevel=INFO"], env)
        self.workers.append(process)
        return process

    def wait_ready(self, process: Process) -> None:
        """A replica is ready when it answers ``/health``, a worker when Celery logs it."""

        def ready() -> bool:
            if process.url:
                return answers(process.url + "/health")
            return " ready." in process.log()

        wait_until_ready(process.popen, ready, process.log, process.name)

    def live_workers(self) -> list[Process]:
        return [worker for worker in self.workers if worker.alive()]

    def ensure_workers(self, count: int) -> None:
        started = [self.start_worker() for _ in range(count - len(self.live_workers()))]
        for worker in started:
            self.wait_ready(worker)

    def stop_workers(self) -> None:
        for worker in self.live_workers():
            worker.stop()

    def http(self, replica: int) -> httpx.Client:
        return httpx.Client(
            base_url=self.replicas[replica].url + "/v0.7",
            headers={"X-API-KEY": self.api_key},
            timeout=60,
        )

    def logs(self) -> str:
        return "\n".join(
            f"===== {p.name} {p.log_path}\n{p.log()[-6000:]}" for p in self.replicas + self.workers
        )

    def lines_about(self, words: list[str]) -> str:
        """Every log line, of every process, holding one of ``words`` (such as a task's
        ``task_id=33``, or ``published``): what a failure needs, where :meth:`logs` only
        keeps each log's end."""
        return "\n".join(
            f"{p.name}: {line}"
            for p in self.replicas + self.workers
            for line in p.log().splitlines()
            if any(word in line for word in words)
        )

    def close(self) -> None:
        for process in self.replicas + self.workers:
            process.stop()


def create_network(
    http: httpx.Client, files: dict[str, Path], preprocessing: dict, name: str = "net"
) -> dict:
    opened = {file_name: path.open("rb") for file_name, path in files.items()}
    try:
        response = http.post(
            "/networks",
            data={
                "name": name,
                "framework": "onnx",
                "preprocessing": json.dumps(preprocessing),
            },
            files={file_name: (file_name, stream) for file_name, stream in opened.items()},
        )
    finally:
        for stream in opened.values():
            stream.close()
    assert response.status_code == 201, response.text
    return response.json()


def wait_task(http: httpx.Client, task_id: int, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        task = http.get(f"/tasks/{task_id}", params={"wait": 20}).json()
        if task["status"] != "pending" or time.monotonic() > deadline:
            return task


def infer(http: httpx.Client, network_id: int, source: str, output: str = "out") -> int:
    response = http.post(
        f"/networks/{network_id}/inference",
        json={"inputs": [{"image": {"source": source}}], "output_tensors": [output]},
    )
    assert response.status_code in (200, 201, 202), response.text
    return response.json()["task_id"]


env_of = vulcain_env
"""This environment without VULCAIN_* settings of the caller, plus ``settings``."""

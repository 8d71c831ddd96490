"""Start and stop MLServer or Mosec serving one network, each from its own virtualenv.

A peer is one configuration of one server (:data:`CONFIGURATIONS`): MLServer runs twice,
with its default ``parallel_workers: 1`` (inference in one worker process, requests handed
to it over a pipe) and with ``parallel_workers: 0`` (inference in the API process itself).

Each runs in its own session (process group) with a throwaway folder for its settings and
log; :meth:`PeerServer.stop` signals the whole group (SIGINT, then SIGTERM, then SIGKILL)
so the worker processes both peers spawn go too. Call it in a ``finally``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from _server import free_port

from _peers.venvs import peer_python

HERE = Path(__file__).resolve().parent
START_TIMEOUT_S = 180.0
STOP_STEPS = ((signal.SIGINT, 15.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0))
MAX_BATCH_SIZE = 8
MAX_WAIT_MS = 5
CONFIGURATIONS = {
    "mlserver": ("mlserver", {"parallel_workers": 1}),
    "mlserver-inline": ("mlserver", {"parallel_workers": 0}),
    "mosec": ("mosec", {}),
}
"""Peer name: (the server it runs, the settings that differ). ``mlserver``: MLServer's
default, one inference worker process; ``mlserver-inline``: inference in the API process."""


class PeerServer:
    """One peer (a key of :data:`CONFIGURATIONS`) serving one network on a free local
    port: ``url``, ``pid``, ``scenario``."""

    def __init__(
        self,
        peer: str,
        model_name: str,
        model_config: dict,
        max_batch_size: int = MAX_BATCH_SIZE,
        log=print,
    ) -> None:
        self.server, self.server_settings = CONFIGURATIONS[peer]
        python = peer_python(self.server, log=log)
        self.max_batch_size = max_batch_size
        self.peer, self.model_name = peer, model_name
        self.output = model_config["output"]
        self.folder = Path(tempfile.mkdtemp(prefix=f"vulcain-bench-{peer}-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        own = ("VULCAIN_", "MLSERVER", "MOSEC_")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(own)},
            "PYTHONPATH": str(HERE),
            "PEER_MODEL_CONFIG": json.dumps(model_config),
            "PEER_MAX_BATCH_SIZE": str(max_batch_size),
            "PEER_MAX_WAIT_MS": str(MAX_WAIT_MS),
        }
        if self.server == "mlserver":
            command, self.ready_path = self._mlserver(python, model_config)
        else:
            command = [str(python), str(HERE / "mosec_app.py"), "--address", "127.0.0.1"]
            command += ["--port", str(self.port), "--timeout", "120000"]
            self.ready_path = "/"
        self.log_path = self.folder / "server.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=self.folder,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _mlserver(self, python: Path, model_config: dict) -> tuple[list[str], str]:
        """settings.json (ports) and <model>/model-settings.json (batching, the model)."""
        settings = {
            "host": "127.0.0.1",
            "http_port": self.port,
            "grpc_port": free_port(),
            "metrics_port": free_port(),
            **self.server_settings,
        }
        (self.folder / "settings.json").write_text(json.dumps(settings))
        model_folder = self.folder / self.model_name
        model_folder.mkdir()
        model_settings = {
            "name": self.model_name,
            "implementation": "mlserver_model.OpenCVImageModel",
            "max_batch_size": self.max_batch_size,
            "max_batch_time": MAX_WAIT_MS / 1000,
            "parameters": {"extra": model_config},
        }
        (model_folder / "model-settings.json").write_text(json.dumps(model_settings))
        mlserver = python.with_name("mlserver")
        return [str(mlserver), "start", str(self.folder)], f"/v2/models/{self.model_name}/ready"

    @property
    def pid(self) -> int:
        return self.process.pid

    def scenario(self) -> dict:
        """The load generator's scenario config for this server's network."""
        return {
            "kind": self.server,
            "url": self.url,
            "model": self.model_name,
            "output": self.output,
        }

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"{self.peer} exited with {code}:\n{self.log()}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.peer} not ready after {START_TIMEOUT_S:.0f} s:\n{self.log()}")

    def log(self, last_lines: int = 40) -> str:
        self._log.flush()
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-last_lines:])

    def stop(self) -> None:
        try:
            for sig, wait_s in STOP_STEPS:
                if self.process.poll() is not None:
                    break
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(wait_s)
                except subprocess.TimeoutExpired:
                    continue
            _kill_group_leftovers(self.process.pid)
        finally:
            self._log.close()
            shutil.rmtree(self.folder, ignore_errors=True)


def _kill_group_leftovers(group: int) -> None:
    """Workers that outlived their parent keep its process group: end them too."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)

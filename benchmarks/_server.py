"""A real ``vulcain serve`` subprocess for a benchmark, and its resident memory (its CPU
time is read by the load generator, _proctree.py).

The server runs in its own session with a throwaway data folder and its own working
directory (so no ``.env`` of the caller leaks in). :meth:`ServerProcess.stop` ends it
whatever happened; the caller runs it in a ``finally``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers import VULCAIN_BIN, answers, free_port, vulcain_env, wait_until_ready

API_KEY = "benchmark-admin-key"
STOP_TIMEOUT_S = 15.0


def _serve_command() -> list[str]:
    if VULCAIN_BIN.exists():
        return [str(VULCAIN_BIN), "serve"]
    return [sys.executable, "-c", "from vulcain.cli import main; main()", "serve"]


class ServerProcess:
    """``vulcain serve`` on a free local port; ``url`` and ``api_key`` reach it."""

    def __init__(self, extra_env: dict[str, str] | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="vulcain-bench-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = API_KEY
        env = vulcain_env(
            VULCAIN_DATA_DIR=str(self.folder / "data"),
            VULCAIN_HOST="127.0.0.1",
            VULCAIN_PORT=str(self.port),
            VULCAIN_BOOTSTRAP_API_KEY=API_KEY,
            **(extra_env or {}),
        )
        self.log_path = self.folder / "server.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            _serve_command(),
            cwd=self.folder,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self) -> None:
        wait_until_ready(self.process, partial(answers, f"{self.url}/ready"), self.log)

    def log(self, last_lines: int = 40) -> str:
        self._log.flush()
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-last_lines:])

    def rss_mb(self) -> float:
        """Resident memory of the server process, in MiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS for the server process")

    def stop(self) -> None:
        """SIGINT (uvicorn's graceful stop), then SIGKILL; remove the data folder."""
        try:
            if self.process.poll() is None:
                for sig, wait_s in ((signal.SIGINT, STOP_TIMEOUT_S), (signal.SIGKILL, 5.0)):
                    try:
                        os.killpg(self.process.pid, sig)
                    except ProcessLookupError:
                        break
                    try:
                        self.process.wait(wait_s)
                        break
                    except subprocess.TimeoutExpired:
                        continue
        finally:
            self._log.close()
            shutil.rmtree(self.folder, ignore_errors=True)

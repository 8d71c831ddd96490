"""A real ``vulcain serve`` process on a free port, and the wire format of deepomatic-api.

:func:`deepomatic_multipart` reproduces how the official client (deepomatic-api 1.0.0,
``HTTPHelper.make_request`` with ``multipart/mixed``) turns ``data`` and ``files`` into a
``requests`` call: both flattened (``a.b``, ``a[0]b``), files given as paths opened, raw
bytes sent as a file part named and filenamed by its key, and any other file value sent as
a part without filename labelled ``application/json``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import requests

ADMIN_KEY = "e2e-admin-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def running_server(data_dir: Path, **settings: str) -> Iterator[LiveServer]:
    """Start ``vulcain serve`` on ``data_dir`` with ``VULCAIN_*`` settings, wait until it
    answers ``/health``; stop it afterwards unless the test killed it."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("VULCAIN_")}
    env.update(
        VULCAIN_HOST="127.0.0.1",
        VULCAIN_PORT=str(port),
        VULCAIN_DATA_DIR=str(data_dir),
        VULCAIN_BOOTSTRAP_API_KEY=ADMIN_KEY,
        VULCAIN_WORKERS="1",
        **{f"VULCAIN_{key.upper()}": value for key, value in settings.items()},
    )
    log_path = data_dir.parent / "server.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "vulcain"), "serve"],
            env=env,
            cwd=data_dir.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"vulcain serve exited: {log_path.read_text()[-3000:]}")
            with suppress(httpx.TransportError):
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"vulcain serve did not answer: {log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield LiveServer(base, process)
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _flatten(
    value: Any, prefix: str = "", out: dict[str, Any] | None = None, omit_dot: bool = True
) -> dict[str, Any]:
    """``recursive_json_dump`` of deepomatic-api: no dot after ``[i]`` nor at the top."""
    out = {} if out is None else out
    if isinstance(value, dict):
        if not omit_dot:
            prefix += "."
        for key, item in value.items():
            _flatten(item, prefix + key, out, omit_dot=False)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}[{index}]", out, omit_dot=True)
    else:
        out[prefix] = value
    return out


def deepomatic_multipart(
    url: str, api_key: str, data: dict[str, Any], files: dict[str, Any]
) -> requests.Response:
    """POST as deepomatic-api 1.0.0 does when a request carries files."""
    parts: dict[str, Any] = {}
    opened = []
    for key, value in _flatten(files).items():
        if isinstance(value, str) and os.path.exists(value):
            value = open(value, "rb")  # noqa: SIM115 - closed below, as the client does
            opened.append(value)
        if hasattr(value, "read") or isinstance(value, bytes):
            parts[key] = value
        else:
            parts[key] = (None, value, "application/json")
    try:
        return requests.post(
            url, data=_flatten(data), files=parts, headers={"X-API-KEY": api_key}, timeout=60
        )
    finally:
        for handle in opened:
            handle.close()

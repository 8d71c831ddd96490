"""Real servers for client tests: a Vulcain process, an image file server, a flaky proxy.

Shared by tests/client and tests/compat (which imports it as ``tests.client.servers``).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

VULCAIN_BIN = Path(sys.executable).with_name("vulcain")
START_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class VulcainServer:
    url: str
    api_key: str
    data_dir: Path
    env: dict[str, str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def http(self, api_key: str | None = None) -> httpx.Client:
        """A raw HTTP client under ``/v0.7`` authenticated as the admin (or ``api_key``)."""
        return httpx.Client(
            base_url=self.url + "/v0.7",
            headers={"X-API-KEY": api_key or self.api_key},
            timeout=60.0,
        )

    def publish(self, network_id: int, slug: str) -> None:
        with self.http() as http:
            response = http.post(f"/networks/{network_id}/publish", json={"public_id": slug})
        assert response.status_code in (200, 201), response.text


@contextmanager
def vulcain_server(tmp_dir: Path, **extra_env: str) -> Iterator[VulcainServer]:
    """Run ``vulcain serve`` on a free port with its data in ``tmp_dir``, an admin key, and
    image URLs to 127.0.0.1 allowed; stop it on exit."""
    port = free_port()
    api_key = "test-" + secrets.token_hex(16)
    data_dir = tmp_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "VULCAIN_HOST": "127.0.0.1",
        "VULCAIN_PORT": str(port),
        "VULCAIN_DATA_DIR": str(data_dir),
        "VULCAIN_BOOTSTRAP_API_KEY": api_key,
        "VULCAIN_FETCH_ALLOW_HOSTS": "127.0.0.1",
        "VULCAIN_WORKERS": "2",
        **extra_env,
    }
    for name in ("VULCAIN_DATABASE_URL", "VULCAIN_STORAGE_URL"):
        env.pop(name, None)
    log_path = tmp_dir / "server.log"
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(VULCAIN_BIN), "serve"], env=env, cwd=tmp_dir, stdout=log, stderr=subprocess.STDOUT
        )
        server = VulcainServer(url, api_key, data_dir, env, log_path)
        try:
            _wait_healthy(process, url, server)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(process: subprocess.Popen[bytes], url: str, server: VulcainServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"vulcain serve exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(url + "/health", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"vulcain serve not healthy after {START_TIMEOUT_S} s:\n{server.log()}")


@contextmanager
def file_server(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1; yields the base URL."""
    handler = partial(_QuietFileHandler, directory=str(folder))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietFileHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class FlakyProxy:
    """Forwards to ``upstream``; the next ``fail_next`` requests answer ``status`` instead.

    With ``forward_failures`` the failing requests still reach upstream (the answer is lost
    on the way back, as with a proxy timing out), so a retried POST would act twice. With
    ``ignore_wait`` the ``wait`` query parameter is dropped, as by a server without long-poll.
    """

    upstream: str
    url: str = ""
    fail_next: int = 0
    status: int = 503
    forward_failures: bool = False
    ignore_wait: bool = False
    seen: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def requests_to(self, method: str, path_prefix: str) -> int:
        return sum(1 for m, p in self.seen if m == method and p.startswith(path_prefix))


@contextmanager
def flaky_proxy(upstream: str) -> Iterator[FlakyProxy]:
    proxy = FlakyProxy(upstream)
    handler = partial(_ProxyHandler, proxy)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    proxy.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        httpd.shutdown()
        httpd.server_close()


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, proxy: FlakyProxy, *args: object) -> None:
        self.proxy = proxy
        super().__init__(*args)  # type: ignore[arg-type]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.proxy.lock:
            self.proxy.seen.append((self.command, self.path))
            failing = self.proxy.fail_next > 0
            if failing:
                self.proxy.fail_next -= 1
        if failing and not self.proxy.forward_failures:
            self._answer(
                self.proxy.status, b'{"error": "upstream unavailable"}', "application/json"
            )
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        url = httpx.URL(self.proxy.upstream + self.path)
        if self.proxy.ignore_wait:
            url = url.copy_remove_param("wait")
        upstream = httpx.request(self.command, url, headers=headers, content=body, timeout=60)
        if failing:
            self._answer(self.proxy.status, b"<html>bad gateway</html>", "text/html")
            return
        self._answer(upstream.status_code, upstream.content, upstream.headers.get("content-type"))

    def _answer(self, status: int, content: bytes, content_type: str | None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PATCH = do_DELETE = _handle


@contextmanager
def hang_up_server() -> Iterator[tuple[str, list[int]]]:
    """A port that accepts connections and closes them at once; yields (url, accept counts)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.2)
    accepted = [0]
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                connection, _ = sock.accept()
            except TimeoutError:
                continue
            accepted[0] += 1
            connection.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join()
        sock.close()

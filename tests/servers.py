"""Real servers for the tests that talk HTTP: a ``vulcain serve`` process, an image file
server, a flaky proxy, a port that hangs up; and the pieces every process-starting helper
shares (free port, clean environment, wait until ready).

Used by tests/api, tests/client, tests/compat, tests/scaleout and the benchmarks.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

VULCAIN_BIN = Path(sys.executable).with_name("vulcain")
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def vulcain_env(**variables: str) -> dict[str, str]:
    """This process's environment without its ``VULCAIN_*`` variables (a developer's
    settings must not reach a test server), plus ``variables``."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("VULCAIN_")}
    return {**base, **variables}


def answers(url: str) -> bool:
    """Whether ``GET url`` answers 200 right now."""
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.TransportError:
        return False


def wait_until_ready(
    process: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    log: Callable[[], str],
    name: str = "vulcain serve",
    timeout_s: float = START_TIMEOUT_S,
) -> None:
    """Poll ``ready`` until it holds; raise with the process's ``log`` if the process exits
    first or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log()}")
        if ready():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{name} not ready after {timeout_s:.0f} s:\n{log()}")


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Terminate ``process`` (if a test has not killed it already), kill it if it lingers."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class VulcainServer:
    url: str
    api_key: str
    data_dir: Path
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes]
    """The ``vulcain serve`` process itself, for tests that kill it."""

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

    def create_account(self, name: str) -> str:
        """A new non-admin account in this server's database, made as an operator would
        (``vulcain accounts create``); its API key."""
        done = subprocess.run(
            [str(VULCAIN_BIN), "accounts", "create", name],
            env=self.env,
            cwd=self.data_dir.parent,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return str(json.loads(done.stdout.strip().splitlines()[-1])["api_key"])


@contextmanager
def vulcain_server(
    tmp_dir: Path, *, api_key: str | None = None, **settings: str
) -> Iterator[VulcainServer]:
    """Run ``vulcain serve`` on a free port with its data in ``tmp_dir / "data"``, an admin
    key (``api_key`` or a new one), 2 workers and image URLs to 127.0.0.1 allowed; stop it
    on exit unless the test killed ``process``.

    ``settings`` override any setting by its name, as ``VULCAIN_<NAME>``: for instance
    ``workers="1"``, ``max_upload_bytes="1000000"``, or ``fetch_allow_hosts=""`` to refuse
    loopback URLs again. Run again on the same ``tmp_dir`` with the same ``api_key``, it
    restarts on the data of the previous run; ``log_path`` keeps the output of both runs.
    """
    port = free_port()
    api_key = api_key or "test-" + secrets.token_hex(16)
    data_dir = tmp_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    defaults = {"fetch_allow_hosts": "127.0.0.1", "workers": "2"}
    env = vulcain_env(
        VULCAIN_HOST="127.0.0.1",
        VULCAIN_PORT=str(port),
        VULCAIN_DATA_DIR=str(data_dir),
        VULCAIN_BOOTSTRAP_API_KEY=api_key,
        **{f"VULCAIN_{name.upper()}": value for name, value in {**defaults, **settings}.items()},
    )
    log_path = tmp_dir / "server.log"
    url = f"http://127.0.0.1:{port}"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(VULCAIN_BIN), "serve"], env=env, cwd=tmp_dir, stdout=log, stderr=subprocess.STDOUT
        )
        server = VulcainServer(url, api_key, data_dir, env, log_path, process)
        try:
            wait_until_ready(process, partial(answers, url + "/health"), server.log)
            yield server
        finally:
            stop_process(process)


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


class SilentTcpProxy:
    """A TCP proxy to ``upstream`` (``host:port``) that can fall silent: after
    :meth:`silence`, what the upstream server sends is held back, as from a server that
    stopped answering on open connections (a broker restarting, blocking publishers)."""

    def __init__(self, upstream: str, port: int = 0) -> None:
        host, _, upstream_port = upstream.rpartition(":")
        self._upstream = (host, int(upstream_port))
        self._silent = threading.Event()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", port))
        self._listener.settimeout(0.2)
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def silence(self) -> None:
        self._silent.set()

    def close(self) -> None:
        self._closed.set()
        for sock in [self._listener, *self._sockets]:
            sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            server = socket.create_connection(self._upstream)
            self._sockets += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, from_upstream: bool) -> None:
        try:
            while data := source.recv(65536):
                while from_upstream and self._silent.is_set() and not self._closed.is_set():
                    time.sleep(0.05)
                target.sendall(data)
        except OSError:
            pass


@contextmanager
def silent_tcp_proxy(upstream: str, port: int = 0) -> Iterator[SilentTcpProxy]:
    """A :class:`SilentTcpProxy` listening on ``port`` (0: any free one)."""
    proxy = SilentTcpProxy(upstream, port)
    try:
        yield proxy
    finally:
        proxy.close()

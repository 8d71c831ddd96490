"""Bodies that never arrive whole, through a real ``vulcain serve``: a pause longer than
the read timeout answers 408, a client that goes away logs one quiet line, a broken chunked
encoding logs no traceback, and none of them, nor a 413, leaves anything in the data
folder (blobs, scratch folder of uploads) or the database."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from collections.abc import Iterator

import pytest

from tests.servers import VulcainServer, vulcain_server

pytestmark = pytest.mark.slow

MAX_UPLOAD = 1_000_000
READ_TIMEOUT = 1.0
DISCONNECTED = "the client closed the connection before sending its whole body"
PREPROCESSING = json.dumps(
    {"inputs": [{"tensor_name": "data", "image": {"target_size": "8x8"}}]}
).encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VulcainServer]:
    with vulcain_server(
        tmp_path_factory.mktemp("unfinished"),
        workers="1",
        max_upload_bytes=str(MAX_UPLOAD),
        body_read_timeout_seconds=str(READ_TIMEOUT),
    ) as running:
        yield running


def _footprint(server: VulcainServer) -> tuple[dict[str, int], list[str]]:
    database = server.data_dir / "vulcain.db"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        rows = {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("networks", "network_files", "blobs", "tasks", "inference_requests")
        }
    files = sorted(
        str(path.relative_to(server.data_dir))
        for path in server.data_dir.rglob("*")
        if path.is_file() and not path.name.startswith("vulcain.db")
    )
    return rows, files


def _create_start(server: VulcainServer, content_length: int, extra: str = "") -> bytes:
    head = (
        "POST /v0.7/networks HTTP/1.1\r\nHost: vulcain\r\n"
        f"X-API-KEY: {server.api_key}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {content_length}\r\n{extra}\r\n"
    )
    parts = (
        b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nn\r\n'
        b'--b\r\nContent-Disposition: form-data; name="framework"\r\n\r\nonnx\r\n'
        b'--b\r\nContent-Disposition: form-data; name="preprocessing"\r\n\r\n'
        + PREPROCESSING
        + b'\r\n--b\r\nContent-Disposition: form-data; name="model.onnx"; filename="m"\r\n\r\n'
        + b"\0" * 200_000
    )
    return head.encode() + parts


def _connect(server: VulcainServer) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=30)
    return connection


def _answer(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def _wait_for_log(server: VulcainServer, text: str, count: int) -> str:
    deadline = time.monotonic() + 30
    while server.log().count(text) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return server.log()


def test_a_body_that_stops_arriving_answers_408_and_leaves_nothing(server):
    before = _footprint(server)
    with _connect(server) as connection:
        connection.sendall(_create_start(server, content_length=500_000))
        answer = _answer(connection)  # the server closes it after the answer
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"VULCAIN_BODY_READ_TIMEOUT_SECONDS" in answer
    assert _footprint(server) == before
    assert "Traceback" not in server.log()


def test_a_client_gone_mid_body_logs_one_quiet_line_and_leaves_nothing(server):
    before = _footprint(server)
    seen = server.log().count(DISCONNECTED)
    for _ in range(3):
        with _connect(server) as connection:
            connection.sendall(_create_start(server, content_length=500_000))
    log = _wait_for_log(server, DISCONNECTED, seen + 3)
    assert log.count(DISCONNECTED) == seen + 3
    assert "Traceback" not in log and "unhandled error" not in log
    assert _footprint(server) == before


def test_a_body_shorter_than_its_content_length_is_never_created(server):
    """The client sends less than it announced and closes its side: no 201, nothing kept."""
    before = _footprint(server)
    start = _create_start(server, content_length=0)
    body = start.split(b"\r\n\r\n", 1)[1] + b"\r\n--b--\r\n"
    with _connect(server) as connection:
        connection.sendall(_create_start(server, content_length=len(body) + 1000)[:-1])
        connection.shutdown(socket.SHUT_WR)
        answer = connection.recv(65536)
    assert not answer.startswith(b"HTTP/1.1 201"), answer
    time.sleep(READ_TIMEOUT)
    assert _footprint(server) == before
    assert "Traceback" not in server.log()


@pytest.mark.parametrize("chunk_size", [b"zz", b"-1", b"1" * 40])
def test_a_bad_chunk_size_is_a_400_without_a_traceback(server, chunk_size):
    before = _footprint(server)
    head = (
        "POST /v0.7/networks HTTP/1.1\r\nHost: vulcain\r\n"
        f"X-API-KEY: {server.api_key}\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    with _connect(server) as connection:
        connection.sendall(head + b"4\r\n--b\r\n" + chunk_size + b"\r\nabc\r\n0\r\n\r\n")
        answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    time.sleep(0.5)
    assert "Traceback" not in server.log()
    assert _footprint(server) == before


def test_an_oversize_upload_leaves_nothing(server):
    before = _footprint(server)
    with _connect(server) as connection:
        # Announced larger than the limit: refused at once.
        connection.sendall(_create_start(server, content_length=MAX_UPLOAD + 1))
        assert connection.recv(65536).startswith(b"HTTP/1.1 413 ")
    chunked = (
        "POST /v0.7/networks HTTP/1.1\r\nHost: vulcain\r\n"
        f"X-API-KEY: {server.api_key}\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    body = _create_start(server, content_length=0).split(b"\r\n\r\n", 1)[1]
    with _connect(server) as connection:
        # Streamed without a length: counted, and refused once past the limit.
        connection.sendall(chunked)
        answer = b""
        try:
            for _ in range(8):
                connection.sendall(b"%x\r\n%s\r\n" % (len(body), body))
            answer = connection.recv(65536)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = answer or connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    time.sleep(0.5)
    assert _footprint(server) == before
    assert "Traceback" not in server.log()

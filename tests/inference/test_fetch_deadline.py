"""VULCAIN_FETCH_TIMEOUT_SECONDS bounds the whole fetch of an image URL, from resolving
its host name to its last byte: against a real local server that trickles its headers or
its body at 2 bytes a second, and a resolver that does not answer."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.settings import fetch_policy
from vulcain.errors import FetchError
from vulcain.inference.sources import read_source

HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 40\r\n\r\n"
BODY = b"\xff" * 40
BYTE_INTERVAL_S = 0.5
"""2 bytes a second: trickling takes 20 s or more, the fetch may take 1 s."""


@dataclass
class Trickle:
    port: int
    at_once: bytes
    trickled: bytes
    after: bytes
    sent: int = 0
    """How many bytes of ``trickled`` the server has sent."""
    stop: threading.Event = field(default_factory=threading.Event)


def serve(state: Trickle, listener: socket.socket) -> None:
    connection, _ = listener.accept()
    with connection:
        connection.recv(65536)  # the request
        try:
            connection.sendall(state.at_once)
            for index in range(len(state.trickled)):
                if state.stop.wait(BYTE_INTERVAL_S):
                    return
                connection.sendall(state.trickled[index : index + 1])
                state.sent = index + 1
            connection.sendall(state.after)
        except OSError:  # the client hung up
            return


@pytest.fixture(params=["headers", "body"])
def trickling(request: pytest.FixtureRequest) -> Iterator[Trickle]:
    """A real server answering one request: its headers byte by byte, or its headers at
    once then its body byte by byte."""
    listener = socket.create_server(("127.0.0.1", 0))
    parts = (b"", HEADERS, BODY) if request.param == "headers" else (HEADERS, BODY, b"")
    state = Trickle(listener.getsockname()[1], *parts)
    thread = threading.Thread(target=serve, args=(state, listener), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        thread.join(timeout=5)
        listener.close()


def test_a_server_trickling_its_answer_is_given_up_at_the_limit(trickling: Trickle):
    policy = fetch_policy(fetch_allow_hosts="127.0.0.1", fetch_timeout_seconds=1.0)
    with pytest.raises(FetchError, match=r"took longer than 1 s"):
        read_source(f"http://127.0.0.1:{trickling.port}/image.jpg", policy)
    assert trickling.sent < len(trickling.trickled), "the fetch waited for all it trickled"


def test_a_resolver_that_does_not_answer_is_given_up_at_the_limit(monkeypatch):
    released = threading.Event()
    real = socket.getaddrinfo

    def hanging(host: str, *args: object, **kwargs: object) -> object:
        if host == "slow-dns.test":
            released.wait(60)
            raise socket.gaierror(socket.EAI_AGAIN, "temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    try:
        with pytest.raises(FetchError, match=r"took longer than 0\.5 s"):
            read_source("http://slow-dns.test/image.jpg", fetch_policy(fetch_timeout_seconds=0.5))
        assert not released.is_set()
    finally:
        released.set()

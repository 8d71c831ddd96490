"""One deadline for a whole fetch: name resolution, connection, TLS, every read and write.

httpx's timeouts bound each operation, not their sum: a server that sends its headers a
byte at a time, each byte within the read timeout, holds a fetch for as long as it likes.
Here every socket operation gets at most the time left before the fetch's deadline (an
httpcore network backend, the layer httpcore makes pluggable for this), and resolution
runs on a small pool of threads so that it can be given up on.
"""

from __future__ import annotations

import socket
import ssl
import time
import typing
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import httpcore
import httpx

_RESOLVERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="vulcain-resolve")
"""``getaddrinfo`` has no timeout of its own: it runs here, and a fetch waits for it only
until its deadline (the thread ends when the system resolver gives up)."""

AddressInfo = list[tuple[typing.Any, ...]]


class ResolutionTimeout(Exception):
    """The host name was not resolved before the deadline."""


def resolve(host: str, port: int | None, deadline: float) -> AddressInfo:
    """``socket.getaddrinfo(host, port)`` for TCP, given up at ``deadline``."""
    pending = _RESOLVERS.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        return pending.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        pending.cancel()
        raise ResolutionTimeout(host) from None


def _left(deadline: float, timeout: float | None, expired: type[Exception]) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the fetch's deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(self._deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(self._deadline, timeout, httpcore.ConnectTimeout)
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, left), self._deadline)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, deadline: float) -> None:
        self._deadline = deadline
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(self._deadline, timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, left, local_address, socket_options)
        return _Stream(stream, self._deadline)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("image URLs are fetched over TCP only")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def deadline_client(deadline: float, ssl_context: ssl.SSLContext) -> httpx.Client:
    """An HTTP/1.1 client, no proxy from the environment, no redirects followed, whose
    every socket operation ends by ``deadline`` (``time.monotonic()``)."""
    transport = httpx.HTTPTransport(verify=ssl_context, trust_env=False)
    # The transport's pool, built again with the deadline's network backend: httpx takes
    # no backend of its own, and the pool is all its transport uses to send.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context, http1=True, http2=False, network_backend=_Backend(deadline)
    )
    return httpx.Client(transport=transport, trust_env=False, follow_redirects=False)

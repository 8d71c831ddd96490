"""Fixtures for the inference tests: textured images and a real local HTTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest


def textured(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A BGR uint8 image with gradients and noise, so that resizing and cropping errors
    show up in every pixel."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    base = np.stack(
        [(xs * 255) // max(width - 1, 1), (ys * 255) // max(height - 1, 1), (xs + ys) % 256],
        axis=2,
    )
    noise = rng.integers(-40, 41, size=(height, width, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


@pytest.fixture
def make_image() -> Callable[..., np.ndarray]:
    return textured


@pytest.fixture(scope="session")
def jpeg_bytes() -> bytes:
    ok, encoded = cv2.imencode(".jpg", textured(48, 64, seed=3), [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return encoded.tobytes()


@dataclass
class ImageServer:
    port: int
    image: bytes
    requests: list[tuple[str, str]] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def _handler(server_state: ImageServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            server_state.requests.append((self.path, self.headers.get("Host", "")))
            route = self.path.split("?")[0]
            try:
                if route == "/image.jpg":
                    self._send(
                        200, server_state.image, {"Content-Length": str(len(server_state.image))}
                    )
                elif route == "/unsized":
                    # No Content-Length: the body runs until the connection closes.
                    self._send(200, b"\xff" * 200_000, {})
                elif route == "/slow":
                    time.sleep(1.5)
                    self._send(200, server_state.image, {})
                elif route.startswith("/redirect/"):
                    self._send(302, b"", {"Location": self.path.removeprefix("/redirect/")})
                elif route == "/loop":
                    self._send(302, b"", {"Location": "/loop"})
                else:
                    self._send(404, b"not found", {})
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def image_server(jpeg_bytes: bytes) -> Iterator[ImageServer]:
    state = ImageServer(port=0, image=jpeg_bytes)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

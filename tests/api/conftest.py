"""In-process API fixtures: a real :class:`Services` on a temporary SQLite data folder,
the app from :func:`create_app`, and a synchronous client that drives it through
``httpx.ASGITransport`` on an event loop in a background thread."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest

from tests.builders import onnx_identity
from vulcain.api.app import create_app
from vulcain.config import Settings
from vulcain.db.models import Base
from vulcain.services import Services

ADMIN_KEY = "admin-test-key"
BASE = "http://vulcain.test"
PREPROCESSING = {
    "inputs": [
        {
            "tensor_name": "data",
            "image": {
                "dimension_order": "NCHW",
                "target_size": "8x8",
                "resize_type": "SQUASH",
                "color_channels": "BGR",
                "pixel_scaling": 255.0,
                "data_type": "FLOAT32",
            },
        }
    ],
    "batched_output": True,
}


class Client:
    """``httpx.Client``-like calls on an ``httpx.AsyncClient`` run by a blocking portal."""

    def __init__(self, portal: Any, client: httpx.AsyncClient) -> None:
        self._portal = portal
        self._client = client

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(lambda: self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)


def deploy(
    client: Client,
    headers: dict[str, str],
    files: dict[str, Path],
    *,
    name: str = "net",
    framework: str = "onnx",
    preprocessing: dict[str, Any] | None = None,
) -> int:
    """Create a network from ``files`` (upload name to path) and wait for its deployment to
    succeed; its id."""
    created = client.post(
        "/v0.7/networks",
        headers=headers,
        data={
            "name": name,
            "framework": framework,
            "preprocessing": json.dumps(preprocessing or PREPROCESSING),
        },
        files={upload: (upload, path.read_bytes()) for upload, path in files.items()},
    )
    assert created.status_code == 201, created.text
    network = created.json()
    task = client.get(f"/v0.7/tasks/{network['task_id']}?wait=5", headers=headers).json()
    assert task["status"] == "success", task
    return int(network["id"])


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        database_url="",
        storage_url="",
        workers=1,
        bootstrap_api_key=ADMIN_KEY,
        task_wait_max_seconds=5,
        max_upload_bytes=256 * 1024,
    )


@pytest.fixture
def services(api_settings: Settings) -> Iterator[Services]:
    services = Services(api_settings)
    services.start()
    yield services
    services.close()


@pytest.fixture
def client(api_settings: Settings, services: Services) -> Iterator[Client]:
    app = create_app(api_settings, services)
    with anyio.from_thread.start_blocking_portal() as portal:
        async_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
        yield Client(portal, async_client)
        portal.call(async_client.aclose)


@pytest.fixture
def admin() -> dict[str, str]:
    return {"X-API-KEY": ADMIN_KEY}


@pytest.fixture
def other(services: Services) -> dict[str, str]:
    """Headers of a second, non-admin account."""
    account, key = services.accounts.create("other")
    return {"X-API-KEY": key, "X-APP-ID": account.app_id}


@pytest.fixture(scope="session")
def onnx_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return onnx_identity(tmp_path_factory.mktemp("onnx_identity"))


def create_onnx(
    client: Client, headers: dict[str, str], files: dict[str, Path], name: str = "net"
) -> httpx.Response:
    """Create a network the way the seed's curl example does (JSON string parts)."""
    return client.post(
        "/v0.7/networks",
        headers=headers,
        data={"name": name, "framework": "onnx", "preprocessing": json.dumps(PREPROCESSING)},
        files={"model.onnx": ("model.onnx", files["model.onnx"].read_bytes())},
    )


def footprint(services: Services) -> tuple[dict[str, int], list[str]]:
    """What a request may leave behind: the rows of every table but accounts, and every
    file under the data folder (blobs, the scratch folder of uploads, the engine's files)
    but the SQLite database's own. Equal before and after a refused request."""
    with services.db.session() as session:
        rows = {
            name: len(session.execute(table.select()).all())
            for name, table in Base.metadata.tables.items()
            if name != "accounts"
        }
    root = services.settings.data_dir
    files = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and not path.name.startswith("vulcain.db")
    )
    return rows, files

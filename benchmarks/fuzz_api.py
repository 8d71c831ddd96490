"""Schemathesis over every operation of the API, 5,000 cases and more: no 5xx and no answer
the OpenAPI document does not list (status, content type, body schema).

Run: .venv/bin/python benchmarks/fuzz_api.py [--examples 400] [--seed 0]
``--examples`` is per operation (14 of the 17 operations take parameters or a body: 400
make about 5,600 cases). The app runs in process on a temporary SQLite data folder with a
deployed ONNX identity network; image sources are data: URIs only. Prints the cases and
the statuses per operation, and stops with the failing case at the first check that fails.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import anyio.from_thread
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.api.openapi_fuzz import fuzz
from tests.builders import onnx_identity
from vulcain.api.app import create_app
from vulcain.config import Settings
from vulcain.services import Services

ADMIN_KEY = "fuzz-admin-key"
PREPROCESSING = {"inputs": [{"tensor_name": "data", "image": {"target_size": "8x8"}}]}


def _deploy(app: object, model: Path) -> tuple[int, int]:
    """Create the identity network through the API and wait for its deployment."""

    async def run() -> tuple[int, int]:
        transport = httpx.ASGITransport(app=app)
        headers = {"X-API-KEY": ADMIN_KEY}
        async with httpx.AsyncClient(transport=transport, base_url="http://fuzz") as client:
            created = await client.post(
                "/v0.7/networks",
                headers=headers,
                data={
                    "name": "fuzzed",
                    "framework": "onnx",
                    "preprocessing": json.dumps(PREPROCESSING),
                },
                files={"model.onnx": ("model.onnx", model.read_bytes())},
            )
            network = created.json()
            await client.get(f"/v0.7/tasks/{network['task_id']}?wait=30", headers=headers)
            await client.post(
                f"/v0.7/networks/{network['id']}/publish",
                headers=headers,
                json={"public_id": "pub"},
            )
            return int(network["id"]), int(network["task_id"])

    with anyio.from_thread.start_blocking_portal() as portal:
        return portal.call(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=400, help="cases per operation")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    # Generated multipart bodies make the parser warn about each bad header byte.
    logging.getLogger("python_multipart").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=Path(folder) / "data",
            workers=1,
            bootstrap_api_key=ADMIN_KEY,
            task_wait_max_seconds=1,
            max_upload_bytes=1024 * 1024,
            metrics=False,
            access_log=False,
        )
        services = Services(settings)
        services.start()
        try:
            app = create_app(settings, services)
            model = onnx_identity(Path(folder) / "model")["model.onnx"]
            network_id, task_id = _deploy(app, model)
            app_id = services.accounts.authenticate(ADMIN_KEY, None).app_id
            started = time.perf_counter()
            report = fuzz(
                app,
                api_key=ADMIN_KEY,
                app_id=app_id,
                network_id=network_id,
                public_id="pub",
                task_id=task_id,
                model=model.read_bytes(),
                examples=args.examples,
                seed=args.seed,
            )
            elapsed = time.perf_counter() - started
        finally:
            services.close()
    by_status: Counter[int] = Counter()
    for (label, status), count in sorted(report.statuses.items()):
        by_status[status] += count
        print(f"{label:55s} {status}  {count:5d}")
    print(f"operations: {len(report.cases)}  cases: {report.total}  failures: 0")
    print(
        "statuses: "
        + ", ".join(f"{status}: {count}" for status, count in sorted(by_status.items()))
    )
    print(f"time: {elapsed:.1f} s  ({report.total / elapsed:.0f} cases/s)")


if __name__ == "__main__":
    main()

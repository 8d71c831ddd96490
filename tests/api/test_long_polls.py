"""Long-polls (``?wait=``) cost no thread and are bounded per account.

Requests held on a pending task, more of them than the threads the server runs blocking
work on, must leave a normal request (one that needs such a thread) and ``/health`` free to
answer while they are all still held; past VULCAIN_TASK_WAITS_PER_ACCOUNT one more answers
429 with a sentence, and a ``POST .../inference?wait=`` so refused creates no task; a task
that is not there answers 404 without waiting.
"""

from __future__ import annotations

import time
from concurrent.futures import Future

import anyio.to_thread
import httpx
import pytest

from tests.api.conftest import ADMIN_KEY, Client, create_onnx
from vulcain.config import Settings
from vulcain.db.task_writes import add_deploy_task
from vulcain.services import Services

WAITS_PER_ACCOUNT = 60
WAIT_SECONDS = 120


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(
        update={
            "task_waits_per_account": WAITS_PER_ACCOUNT,
            "task_wait_max_seconds": WAIT_SECONDS,
        }
    )


def pending_task(services: Services) -> int:
    """A task that stays pending until the test ends it (no worker is given it)."""
    account = services.accounts.authenticate(ADMIN_KEY, None)
    with services.db.session() as session:
        return add_deploy_task(session, account.id).id


def start(client: Client, method: str, url: str, **kwargs) -> Future[httpx.Response]:
    """Send a request without waiting for its answer."""
    return client._portal.start_task_soon(lambda: client._client.request(method, url, **kwargs))


def test_held_requests_leave_threads_free_and_are_bounded(client, services, admin, onnx_files):
    threads = client._portal.call(
        lambda: anyio.to_thread.current_default_thread_limiter().total_tokens
    )
    assert threads < WAITS_PER_ACCOUNT  # held requests outnumber the threads
    network = create_onnx(client, admin, onnx_files).json()
    task_id = pending_task(services)
    url = f"/v0.7/tasks/{task_id}?wait={WAIT_SECONDS}"
    held = [start(client, "GET", url, headers=admin) for _ in range(WAITS_PER_ACCOUNT)]

    # Once every one of them is counted, one more is refused at once.
    deadline = time.monotonic() + 60
    while (extra := client.get(url, headers=admin)).status_code != 429:
        assert time.monotonic() < deadline, "the held requests were never all counted"
        time.sleep(0.05)
    assert extra.json()["error"] == (
        f"This account already has {WAITS_PER_ACCOUNT} requests waiting for tasks to finish "
        "(?wait=), the most it may have at once (VULCAIN_TASK_WAITS_PER_ACCOUNT): let one of "
        "them answer first, or ask without wait and poll."
    )
    tasks_before = client.get("/v0.7/tasks", headers=admin).json()["count"]
    refused = client.post(
        f"/v0.7/networks/{network['id']}/inference?wait=5",
        headers=admin,
        json={
            "inputs": [{"image": {"source": "https://example.com/a.jpg"}}],
            "output_tensors": ["out"],
        },
    )
    assert refused.status_code == 429, refused.text
    assert client.get("/v0.7/tasks", headers=admin).json()["count"] == tasks_before

    # Normal requests, a FastAPI route run on a thread among them, answer meanwhile.
    assert client.get("/v0.7/networks", headers=admin).status_code == 200
    assert client.get("/health").status_code == 200
    assert client.get(f"/v0.7/tasks/{task_id}", headers=admin).json()["status"] == "pending"
    assert not any(request.done() for request in held)

    services.runner.finish(task_id, error="ended by the test")
    answers = [request.result(timeout=60) for request in held]
    assert {answer.status_code for answer in answers} == {200}
    assert {answer.json()["status"] for answer in answers} == {"error"}
    assert client.get(url, headers=admin).json()["status"] == "error"  # the count went down


def test_a_missing_task_answers_404_without_waiting(client, admin):
    started = time.monotonic()
    missing = client.get(f"/v0.7/tasks/999999?wait={WAIT_SECONDS}", headers=admin)
    assert missing.status_code == 404, missing.text
    assert time.monotonic() - started < WAIT_SECONDS  # it did not wait for the task

"""In-process mode: a task that could not be handed to the task threads is submitted again
VULCAIN_TASK_RESUBMIT_SECONDS later, as the broker's resubmit does, instead of waiting
for the next start. The real path: a network's deployment whose first submission fails
because no thread can be started."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.api.conftest import create_onnx
from vulcain.config import Settings


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(
        update={"task_resubmit_seconds": 0.5, "task_wait_max_seconds": 60}
    )


def test_a_deployment_whose_submission_failed_runs_without_a_restart(
    client, admin, onnx_files, monkeypatch
):
    failures: list[str] = []
    submit = ThreadPoolExecutor.submit

    def fails_once(pool: ThreadPoolExecutor, *args: object, **kwargs: object):
        if pool._thread_name_prefix == "vulcain-task" and not failures:
            failures.append("can't start new thread")
            raise RuntimeError("can't start new thread")
        return submit(pool, *args, **kwargs)

    monkeypatch.setattr(ThreadPoolExecutor, "submit", fails_once)
    created = create_onnx(client, admin, onnx_files)
    assert created.status_code == 201, created.text
    assert failures  # the deployment's first submission did fail
    task = client.get(f"/v0.7/tasks/{created.json()['task_id']}?wait=60", headers=admin).json()
    assert task["status"] == "success", task

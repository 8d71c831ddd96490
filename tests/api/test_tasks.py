"""Tasks over HTTP: retrieve, long-poll with ``wait``, unknown ids."""

from __future__ import annotations

import time

from tests.api.conftest import create_onnx
from vulcain.db.models import TaskRow


def test_task_of_a_new_network_and_its_long_poll(client, admin, onnx_files):
    created = create_onnx(client, admin, onnx_files).json()
    url = f"/v0.7/tasks/{created['task_id']}/"
    task = client.get(url, headers=admin).json()
    assert task["id"] == created["task_id"]
    assert task["status"] in ("pending", "success", "error")
    assert set(task) >= {"id", "name", "status", "error", "data", "create_date", "update_date"}
    finished = client.get(url, headers=admin, params={"wait": 30}).json()
    assert finished["status"] in ("success", "error")
    if finished["status"] == "error":
        assert finished["error"]


def test_wait_is_capped_by_the_server(client, admin, services, api_settings):
    api_settings.task_wait_max_seconds = 1.0
    account = services.accounts.authenticate(admin["X-API-KEY"], None)
    with services.db.session() as session:
        row = TaskRow(account_id=account.id, kind="inference", name="never ends", status="pending")
        session.add(row)
        session.flush()
        task_id = row.id
    started = time.monotonic()
    task = client.get(f"/v0.7/tasks/{task_id}?wait=600", headers=admin).json()
    elapsed = time.monotonic() - started
    assert task["status"] == "pending"
    assert 0.9 <= elapsed < 4


def test_unknown_and_malformed_task_ids(client, admin):
    assert client.get("/v0.7/tasks/999", headers=admin).status_code == 404
    response = client.get("/v0.7/tasks/abc", headers=admin)
    assert response.status_code == 404
    assert "integers" in response.json()["error"]
    response = client.get("/v0.7/tasks/1?wait=-1", headers=admin)
    assert response.status_code == 400
    assert response.json()["fields"] == {"wait": "must be at least 0"}

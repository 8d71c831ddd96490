from __future__ import annotations

import asyncio
import io
import time
from datetime import timedelta

import orjson
from sqlalchemy import delete, select, update

from tests.tasks.conftest import png_request
from tests.tasks.test_runner import create_identity
from vulcain.db.database import Database
from vulcain.db.models import InferenceRequestRow, TaskRow, utcnow
from vulcain.services import Services
from vulcain.tasks.maintenance import purge_finished
from vulcain.tasks.runner import REQUEST_GONE


def test_tasks_left_pending_by_a_crash_are_recovered_at_start(
    settings, services, account, identity_model, image
):
    network = create_identity(services, account, identity_model)
    assert asyncio.run(services.tasks.wait(account, network.task_id, 30)).status == "success"
    kept = asyncio.run(services.networks.infer(account, network.id, png_request(image)))
    lost = asyncio.run(services.networks.infer(account, network.id, png_request(image)))
    for task_id in (kept, lost):
        asyncio.run(services.tasks.wait(account, task_id, 30))
    services.close()

    # What a kill leaves behind: tasks still pending, one request never stored.
    database = Database(settings.database_url)
    with database.session() as session:
        session.execute(
            update(TaskRow)
            .where(TaskRow.id.in_([network.task_id, kept, lost]))
            .values(status="pending", error=None, data=None)
        )
        session.execute(delete(InferenceRequestRow).where(InferenceRequestRow.task_id == lost))
    database.close()

    restarted = Services(settings, out=io.StringIO())
    restarted.start()
    try:
        deployment = asyncio.run(restarted.tasks.wait(account, network.task_id, 30))
        inference = asyncio.run(restarted.tasks.wait(account, kept, 30))
        gone = asyncio.run(restarted.tasks.wait(account, lost, 30))
    finally:
        restarted.close()
    assert deployment.status == "success"
    assert inference.status == "success"
    assert orjson.loads(inference.data)["tensors"][0]["name"] == "out"
    assert gone.status == "error" and gone.error == REQUEST_GONE


def test_purge_removes_old_finished_inference_tasks_only(services, account):
    old = utcnow() - timedelta(days=2)
    ids = {}
    with services.db.session() as session:
        for label, kind, status, date in [
            ("old-done", "inference", "success", old),
            ("old-failed", "inference", "error", old),
            ("old-pending", "inference", "pending", old),
            ("old-deploy", "deploy", "success", old),
            ("recent", "inference", "success", utcnow()),
        ]:
            row = TaskRow(
                account_id=account.id, kind=kind, status=status, name=label, update_date=date
            )
            session.add(row)
            session.flush()
            session.add(InferenceRequestRow(task_id=row.id, body=b"{}"))
            ids[label] = row.id
    # The services' own purge loop may remove some of them first: the outcome is checked.
    purge_finished(services.db, utcnow() - timedelta(days=1))
    with services.db.session() as session:
        left = set(session.scalars(select(TaskRow.name).where(TaskRow.id.in_(ids.values()))))
        requests = set(
            session.scalars(
                select(InferenceRequestRow.task_id).where(
                    InferenceRequestRow.task_id.in_(ids.values())
                )
            )
        )
    assert left == {"old-pending", "old-deploy", "recent"}
    assert ids["old-done"] not in requests and ids["recent"] in requests


def test_the_purge_loop_runs_with_the_configured_retention(settings, account):
    settings.task_retention_seconds = 0.5
    settings.purge_interval_seconds = 0.1
    services = Services(settings, out=io.StringIO())
    services.start()
    try:
        with services.db.session() as session:
            row = TaskRow(account_id=account.id, kind="inference", status="success", name="p")
            session.add(row)
            session.flush()
            task_id = row.id
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with services.db.session() as session:
                if session.get(TaskRow, task_id) is None:
                    break
            time.sleep(0.1)
        with services.db.session() as session:
            assert session.get(TaskRow, task_id) is None
    finally:
        services.close()

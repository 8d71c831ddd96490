"""Tasks: the deployment of a network or one inference, followed until it finishes."""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterable, Sequence
from typing import Any

import httpx
import numpy as np

from vulcain.client._exceptions import ClientError, TaskError, TaskTimeout
from vulcain.client._http import HTTPSession

PENDING, SUCCESS, ERROR = "pending", "success", "error"
LONG_POLL_SECONDS = 20.0
"""Longest ``?wait=`` asked in one request; the server may cap it lower."""
IDS_PER_LIST_REQUEST = 100

PositionedTasks = list[tuple[int, "Task"]]
NPZ = "application/x-npz"
"""Asked for in ``Accept``, a server answers a successful inference task's tensors as one
``.npz`` file rather than JSON numbers (a server that cannot answers JSON as before)."""


class Task:
    """A task as last fetched: ``id``, ``name``, ``status``, ``error``, ``data``, dates.

    ``task["status"]`` works as well as ``task.status``, like the official client.
    """

    def __init__(self, session: HTTPSession, data: dict[str, Any]) -> None:
        self._session = session
        self.data_dict = data
        self._arrays: dict[str, np.ndarray] | None = None

    @property
    def id(self) -> int:
        return int(self.data_dict["id"])

    @property
    def status(self) -> str:
        return str(self.data_dict.get("status", PENDING))

    @property
    def error(self) -> str | None:
        return self.data_dict.get("error")

    @property
    def data(self) -> Any:
        return self.data_dict.get("data")

    @property
    def name(self) -> str | None:
        return self.data_dict.get("name")

    def __getitem__(self, key: str) -> Any:
        return self.data_dict[key]

    def __repr__(self) -> str:
        return f"<Task {self.id} {self.status}>"

    def refresh(self, wait: float | None = None) -> Task:
        """Fetch the task again; with ``wait``, let the server hold the request up to that
        many seconds while the task is pending (servers without long-poll answer at once)."""
        return self._fetch(wait, arrays=False)

    def _fetch(self, wait: float | None, *, arrays: bool) -> Task:
        """:meth:`refresh`; with ``arrays``, a successful task's tensors come as a ``.npz``
        file (kept for :meth:`tensors`) instead of JSON."""
        params = {"wait": f"{wait:g}"} if wait else None
        timeout = wait + 30.0 if wait else None
        headers = {"Accept": NPZ} if arrays else None
        response = self._session.request(
            "GET", f"/tasks/{self.id}", params=params, timeout=timeout, headers=headers
        )
        self.answered(response)
        return self

    def answered(self, response: httpx.Response) -> None:
        """Take the task from a server's answer: the JSON task, or its tensors as .npz."""
        if response.headers.get("content-type", "").startswith(NPZ):
            self._arrays = arrays_from_npz(response.content)
            self.data_dict = {**self.data_dict, "status": SUCCESS, "error": None}
        else:
            self.data_dict = response.json()
            self._arrays = None

    def wait(self, timeout: float | None = 60.0, *, arrays: bool = False) -> Task:
        """Block until the task leaves ``pending`` and return it.

        Raise :class:`TaskError` if it ends in ``error`` and :class:`TaskTimeout` if it is still
        pending after ``timeout`` seconds (``None`` waits forever). Uses the server's
        long-poll, and backs off between requests when the server answers at once. With
        ``arrays``, a successful inference's tensors come as one binary ``.npz`` file,
        which :meth:`tensors` then returns, and ``data`` is not fetched.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.02
        while self.status == PENDING:
            remaining = LONG_POLL_SECONDS if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                raise TaskTimeout(self, timeout or 0.0)
            asked = min(remaining, LONG_POLL_SECONDS)
            started = time.monotonic()
            self._fetch(max(asked, 0.01), arrays=arrays)
            if self.status == PENDING and time.monotonic() - started < asked / 2:
                time.sleep(min(pause, max(remaining - (time.monotonic() - started), 0)))
                pause = min(pause * 2, 1.0)
        if self.status == ERROR:
            raise TaskError(self)
        return self

    def tensors(self) -> dict[str, np.ndarray]:
        """The tensors of a successful inference task, by name, as float32 arrays."""
        if self.status == ERROR:
            raise TaskError(self)
        if self._arrays is not None:
            return dict(self._arrays)
        return tensors_from_data(self.data or {})


def arrays_from_npz(content: bytes) -> dict[str, np.ndarray]:
    """The arrays of a ``.npz`` file by name, in its order, as float32."""
    with np.load(io.BytesIO(content), allow_pickle=False) as archive:
        return {name: archive[name].astype(np.float32, copy=False) for name in archive.files}


def tensors_from_data(data: dict[str, Any]) -> dict[str, np.ndarray]:
    """``{"tensors": [{"name", "shape"|"dims", "data"}]}`` to arrays by name, in order."""
    result: dict[str, np.ndarray] = {}
    for tensor in data.get("tensors", []):
        shape = tensor.get("shape", tensor.get("dims"))
        array = np.asarray(tensor["data"], dtype=np.float32)
        result[tensor["name"]] = array.reshape(shape) if shape is not None else array
    return result


class Tasks:
    """``client.Task``: fetch, list and wait for tasks."""

    def __init__(self, session: HTTPSession) -> None:
        self._session = session

    def retrieve(self, task_id: int) -> Task:
        """Fetch one task of your account by id."""
        return Task(self._session, self._session.get(f"/tasks/{int(task_id)}"))

    def list(self, task_ids: Iterable[int]) -> list[Task]:
        """Fetch the tasks with these ids (every page; ids not yours are left out)."""
        ids = [int(task_id) for task_id in task_ids]
        tasks: list[Task] = []
        for start in range(0, len(ids), IDS_PER_LIST_REQUEST):
            chunk = ids[start : start + IDS_PER_LIST_REQUEST]
            params = {"task_ids": chunk, "limit": len(chunk)}
            tasks.extend(
                Task(self._session, item) for item in self._session.iter_results("/tasks", params)
            )
        return tasks

    def batch_wait(
        self, tasks: Sequence[Task | int], timeout: float | None = 300.0
    ) -> tuple[PositionedTasks, PositionedTasks, PositionedTasks]:
        """Wait for many tasks; return ``(pending, success, error)``.

        Each list holds ``(position, task)`` pairs sorted by position in ``tasks``, as the
        official client returns them. Tasks still pending after ``timeout`` stay in the
        first list; nothing is raised for failed tasks.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        pending: dict[int, tuple[int, Task]] = {}
        for position, task in enumerate(tasks):
            if not isinstance(task, Task):
                task = Task(self._session, {"id": int(task), "status": PENDING})
            pending[task.id] = (position, task)
        done: dict[str, PositionedTasks] = {SUCCESS: [], ERROR: []}
        while pending:
            listed = {fresh.id: fresh for fresh in self.list(task_ids=list(pending))}
            for task_id, (position, task) in list(pending.items()):
                fresh = listed.get(task_id) or _unknown(task)
                if fresh.status == PENDING:
                    pending[task_id] = (position, fresh)
                else:
                    done[SUCCESS if fresh.status == SUCCESS else ERROR].append((position, fresh))
                    del pending[task_id]
            remaining = None if deadline is None else deadline - time.monotonic()
            if not pending or (remaining is not None and remaining <= 0):
                break
            first_id = min(pending, key=lambda task_id: pending[task_id][0])
            wait = LONG_POLL_SECONDS if remaining is None else min(remaining, LONG_POLL_SECONDS)
            started = time.monotonic()
            with contextlib.suppress(ClientError):
                pending[first_id][1].refresh(wait=max(wait, 0.01))
            if time.monotonic() - started < wait / 2:
                time.sleep(min(0.1, wait))
        return (
            sorted(pending.values(), key=_position),
            sorted(done[SUCCESS], key=_position),
            sorted(done[ERROR], key=_position),
        )


def _unknown(task: Task) -> Task:
    """A task the server no longer lists (purged, or not this account's)."""
    data = {**task.data_dict, "status": ERROR, "error": f"task {task.id} was not found"}
    return Task(task._session, data)


def _position(pair: tuple[int, Task]) -> int:
    return pair[0]

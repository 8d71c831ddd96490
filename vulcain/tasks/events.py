"""Telling waiters that a task finished, without polling the database.

The process that finishes a task calls :meth:`TaskEvents.notify` once its end is committed;
a long-poll calls :meth:`TaskEvents.subscribe` *before* reading the task, then waits on the
:class:`Wakeup` (from a thread, or awaiting it on an event loop). :class:`LocalTaskEvents`
works within one process; across API replicas (scale-out) the implementations of
:mod:`vulcain.tasks.shared_events` (PostgreSQL LISTEN/NOTIFY, Redis pub/sub, or a slow
periodic wake-up) keep the same interface.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from vulcain.tasks.settle import complete


class Wakeup:
    """Set once; waited on by threads (:meth:`wait`) or awaited (:meth:`wait_async`)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._awaiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def set(self) -> None:
        with self._lock:
            self._event.set()
            awaiting, self._awaiting = self._awaiting, []
        for loop, future in awaiting:
            loop.call_soon_threadsafe(complete, future)

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block the calling thread until set or ``timeout``; whether it was set."""
        return self._event.wait(timeout)

    async def wait_async(self, timeout: float) -> bool:
        """Wait on the running event loop until set or ``timeout``; whether it was set."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._event.is_set():
                return True
            self._awaiting.append((loop, future))
        timer = loop.call_later(max(0.0, timeout), complete, future)
        try:
            await future
        finally:
            timer.cancel()
            with self._lock:
                if (loop, future) in self._awaiting:
                    self._awaiting.remove((loop, future))
        return self._event.is_set()


class TaskEvents(ABC):
    @abstractmethod
    def notify(self, task_id: int) -> None:
        """Wake everyone waiting on ``task_id``."""

    @abstractmethod
    def subscribe(self, task_id: int) -> AbstractContextManager[Wakeup]:
        """A context whose wakeup is set when ``task_id`` is notified while it is open."""

    def start(self) -> None:  # noqa: B027 - optional hook
        """Get ready to wake waiters (connect a listener), so no subscribe waits for it."""

    def wake_all(self) -> None:  # noqa: B027 - optional hook
        """Wake every waiter of this process, so each reads its task again."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release listeners and connections."""


class LocalTaskEvents(TaskEvents):
    """Waiters and notifiers in one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[int, set[Wakeup]] = defaultdict(set)

    def notify(self, task_id: int) -> None:
        with self._lock:
            waiters = self._waiters.pop(task_id, set())
        for event in waiters:
            event.set()

    def wake_all(self) -> None:
        """Wake every waiter, so each reads its task again (after notifications may have
        been missed)."""
        with self._lock:
            waiters = [event for events in self._waiters.values() for event in events]
        for event in waiters:
            event.set()

    @contextmanager
    def subscribe(self, task_id: int) -> Iterator[Wakeup]:
        event = Wakeup()
        with self._lock:
            self._waiters[task_id].add(event)
        try:
            yield event
        finally:
            with self._lock:
                waiters = self._waiters.get(task_id)
                if waiters is not None:
                    waiters.discard(event)
                    if not waiters:
                        del self._waiters[task_id]

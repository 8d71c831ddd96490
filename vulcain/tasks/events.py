"""Telling waiters that a task finished, without polling the database.

The process that finishes a task calls :meth:`TaskEvents.notify`; a long-poll calls
:meth:`TaskEvents.subscribe` *before* reading the task, then waits. :class:`LocalTaskEvents`
works within one process; across API replicas (scale-out) the implementations of
:mod:`vulcain.tasks.shared_events` (PostgreSQL LISTEN/NOTIFY, Redis pub/sub, or a slow
periodic wake-up) keep the same interface.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager


class TaskEvents(ABC):
    @abstractmethod
    def notify(self, task_id: int) -> None:
        """Wake everyone waiting on ``task_id``."""

    @abstractmethod
    def subscribe(self, task_id: int) -> AbstractContextManager[threading.Event]:
        """A context whose event is set when ``task_id`` is notified while it is open."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release listeners and connections."""


class LocalTaskEvents(TaskEvents):
    """Waiters and notifiers in one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[int, set[threading.Event]] = defaultdict(set)

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
    def subscribe(self, task_id: int) -> Iterator[threading.Event]:
        event = threading.Event()
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

"""The queue of requests waiting for a preparation thread, served in turn by network.

Preparation threads are shared by every network: with one first-in first-out queue, a
burst of costly requests for one network (large images, many-sided polygons) would hold
every other network's requests behind it for as long as it takes. Here each network has
its own line and the threads take one request from each network with requests in turn,
so another network's request waits for at most one request of each other network.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Hashable
from queue import SimpleQueue
from typing import Generic, TypeVar

T = TypeVar("T")


class FairQueue(Generic[T]):
    """Items put under a key, taken round-robin across the keys (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: dict[Hashable, deque[T]] = {}
        """The keys with items, in the order of their turns (a key served goes last)."""
        self._tokens: SimpleQueue[bool] = SimpleQueue()
        """One ``True`` per item put, one ``False`` per :meth:`stop`: what :meth:`get`
        blocks on, without a lock held."""

    def put(self, key: Hashable, item: T) -> None:
        with self._lock:
            line = self._lines.get(key)
            if line is None:
                self._lines[key] = line = deque()
            line.append(item)
        self._tokens.put(True)

    def stop(self) -> None:
        """Make one :meth:`get` return ``None`` once the items put before are taken."""
        self._tokens.put(False)

    def get(self) -> T | None:
        """The next item in turn, waiting for one; ``None`` for a :meth:`stop`."""
        if not self._tokens.get():
            return None
        with self._lock:
            key = next(iter(self._lines))
            line = self._lines.pop(key)
            item = line.popleft()
            if line:
                self._lines[key] = line
            return item

    def empty(self) -> bool:
        """Whether nothing is waiting (at this instant)."""
        return self._tokens.empty()

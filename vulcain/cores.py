"""How many cores this process may use: the one figure every thread pool is sized by."""

from __future__ import annotations

import os


def core_count() -> int:
    """Cores this process may run on (its CPU affinity, so containers and ``taskset``
    limits count), at least one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without affinity
        return max(1, os.cpu_count() or 1)

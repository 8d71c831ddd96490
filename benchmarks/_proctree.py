"""CPU time of a whole process tree, read from /proc.

MLServer runs its models in worker processes and Mosec runs a Rust front process with
Python worker children, so a server's cost is the sum over its tree, not its first process.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may hold spaces and parentheses: split after the last ")".
    return text.rsplit(")", 1)[1].split()


def process_tree(roots: Iterable[int]) -> set[int]:
    """``roots`` and every live descendant of them."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    pending = [pid for pid in roots if _stat_fields(pid) is not None]
    while pending:
        pid = pending.pop()
        if pid not in found:
            found.add(pid)
            pending.extend(children.get(pid, ()))
    return found


def tree_cpu_seconds(roots: Iterable[int]) -> float:
    """User + system CPU time of the tree under ``roots`` so far, reaped children included
    (a process's time is either its own while it lives or its parent's ``cutime`` after)."""
    total_ticks = 0
    for pid in process_tree(roots):
        fields = _stat_fields(pid)
        if fields is not None:
            total_ticks += sum(int(value) for value in fields[11:15])
    return total_ticks / _CLOCK_TICKS


def tree_rss_mb(roots: Iterable[int]) -> float:
    """Resident memory of the tree under ``roots``, in MiB (shared pages counted per process)."""
    total_kb = 0
    for pid in process_tree(roots):
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total_kb += next((int(line.split()[1]) for line in lines if line.startswith("VmRSS:")), 0)
    return total_kb / 1024

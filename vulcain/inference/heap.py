"""Giving freed C heap memory back to the system after a network loads.

Loading a network allocates and frees far more than it keeps (protobuf parsing, graph
optimisations, weights reordered): glibc keeps those freed pages, so the process's resident
memory would count them as the network's, and never give them back. ``malloc_trim``
returns them. Measured on open_nsfw with onnxruntime: 70 MB resident after loading
without it, 26 MB after (its weights are 23 MB).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def trim_heap() -> None:
    """Return the C heap's free pages to the system (glibc); nothing elsewhere."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)

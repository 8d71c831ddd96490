"""Helpers shared by the runtimes: file checks, error sentences, thread counts."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from vulcain.errors import ModelError, UnknownTensorError

_KNOWN_SHOWN = 20


def core_count() -> int:
    """Cores this process may run on: the ceiling for a framework's thread pools."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without affinity
        return max(1, os.cpu_count() or 1)


def require_file(folder: Path, name: str, what: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise ModelError(f"The file {name} ({what}) is missing: upload it with the network.")
    if path.stat().st_size == 0:
        raise ModelError(f"The file {name} ({what}) is empty: upload the complete file.")
    return path


def unknown_names_error(
    unknown: Iterable[str], known: Iterable[str], kind: str = "output"
) -> UnknownTensorError:
    """An error naming the unknown names and listing some known ones."""
    unknown = list(unknown)
    known = list(known)
    names = ", ".join(repr(name) for name in unknown)
    plural = "s" if len(unknown) > 1 else ""
    shown = ", ".join(known[:_KNOWN_SHOWN])
    more = f" and {len(known) - _KNOWN_SHOWN} more" if len(known) > _KNOWN_SHOWN else ""
    return UnknownTensorError(
        f"Unknown {kind} name{plural} {names}: the network has no such layer or tensor. "
        f"Known names: {shown}{more}."
    )


_CV_ERROR = re.compile(r"error: \(-?\d+:[^)]*\)\s*(?P<message>.*?)(?: in function '.*')?\s*$", re.S)


def opencv_message(error: Exception) -> str:
    """The useful sentence of a ``cv2.error`` without OpenCV's source path prefix."""
    text = str(error).strip()
    match = _CV_ERROR.search(text)
    return (match.group("message") if match else text).strip()

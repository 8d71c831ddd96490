"""Helpers shared by the runtimes: file checks and OpenCV error sentences."""

from __future__ import annotations

import re
from pathlib import Path

from vulcain.errors import ModelError


def require_file(folder: Path, name: str, what: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise ModelError(f"The file {name} ({what}) is missing: upload it with the network.")
    if path.stat().st_size == 0:
        raise ModelError(f"The file {name} ({what}) is empty: upload the complete file.")
    return path


_CV_ERROR = re.compile(r"error: \(-?\d+:[^)]*\)\s*(?P<message>.*?)(?: in function '.*')?\s*$", re.S)


def opencv_message(error: Exception) -> str:
    """The useful sentence of a ``cv2.error`` without OpenCV's source path prefix."""
    text = str(error).strip()
    match = _CV_ERROR.search(text)
    return (match.group("message") if match else text).strip()

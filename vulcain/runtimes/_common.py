"""Helpers shared by the runtimes: file checks, OpenCV error sentences, and the conversion
of a fed tensor to the type of the input it feeds."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from vulcain.errors import ModelError


def as_input_type(value: np.ndarray, dtype: np.dtype | type | str | None) -> np.ndarray:
    """``value`` (a float32 tensor from preprocessing) as the type of the input it feeds.

    An integer input gets each value rounded to the nearest integer (halves to even) and
    saturated to the type's range, never wrapped: after mean subtraction a negative value
    fed to a ``uint8`` input becomes 0, a value above 255 becomes 255. NaN becomes 0.
    Any other type (float, bool) is a plain conversion; ``None`` keeps ``value``'s own."""
    if dtype is None or np.dtype(dtype).kind not in "iu" or value.dtype.kind in "iub":
        return np.ascontiguousarray(value, dtype=dtype)
    info = np.iinfo(dtype)
    # The bounds of a 64-bit type round up in floating point (2**63): step below them.
    low, high = float(info.min), float(info.max)
    if int(high) > info.max:
        high = float(np.nextafter(high, 0.0))
    rounded = np.rint(np.asarray(value, dtype=np.float64))
    np.nan_to_num(rounded, copy=False, nan=0.0, posinf=high, neginf=low)
    np.clip(rounded, low, high, out=rounded)
    return np.ascontiguousarray(rounded.astype(dtype))


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

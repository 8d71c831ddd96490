"""The ``data`` of a successful inference task, encoded once as JSON.

``{"tensors": [{"name", "shape", "dims", "data"}]}`` in the order the request named them:
``shape`` and ``dims`` are the same list (newer clients read ``shape``, older ones
``dims``), ``data`` the tensor flattened in row-major order, batch dimension included.
These bytes are what the database stores and what every answer embeds as they are.

JSON has no NaN or Infinity: a non-finite value is written as the string ``"NaN"``,
``"Infinity"`` or ``"-Infinity"`` (as protobuf's JSON mapping does), which ``float()`` and
``numpy.asarray(data, dtype=float)`` read back as the value it was.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import orjson


def encode_tensors(names: Sequence[str], outputs: Mapping[str, np.ndarray]) -> bytes:
    """The task data of tensors ``outputs`` asked for as ``names`` (a name may repeat)."""
    tensors = []
    for name in names:
        array = outputs[name]
        shape = list(array.shape)
        tensors.append({"name": name, "shape": shape, "dims": shape, "data": _flat(array)})
    return orjson.dumps({"tensors": tensors}, option=orjson.OPT_SERIALIZE_NUMPY)


def _flat(array: np.ndarray) -> np.ndarray | list[float | str]:
    # Floats go out as the float64 of each value, so the text is the one Python writes for
    # ``float(value)`` (exact, and what clients have always read); integers stay integers.
    dtype = np.float64 if array.dtype.kind == "f" else None
    flat = np.ascontiguousarray(array, dtype=dtype).reshape(-1)
    if dtype is None or np.isfinite(flat).all():
        return flat
    return [value if math.isfinite(value) else _non_finite(value) for value in flat.tolist()]


def _non_finite(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def decode_tensors(data: bytes) -> dict[str, np.ndarray] | None:
    """The arrays of task data made by :func:`encode_tensors`, by name in their order;
    ``None`` for data that holds no tensors (a deployment's).

    JSON keeps no dtype: integers come back as int64, floats as float32 when every value
    is a float32 (what networks give, exactly as they gave it), else as float64."""
    document = orjson.loads(data)
    tensors = document.get("tensors") if isinstance(document, dict) else None
    if not isinstance(tensors, list):
        return None
    arrays: dict[str, np.ndarray] = {}
    for tensor in tensors:
        values = np.asarray(tensor["data"])
        if values.dtype.kind == "U":  # NaN and infinities are written as their names
            values = np.array([float(value) for value in tensor["data"]], dtype=np.float64)
        if values.dtype.kind == "f":
            with np.errstate(over="ignore"):  # too large for float32: not equal, kept
                narrowed = values.astype(np.float32)
            if np.array_equal(narrowed, values, equal_nan=True):
                values = narrowed
        elif values.size == 0:
            values = values.astype(np.float32)
        arrays[tensor["name"]] = values.reshape(tensor.get("shape", tensor.get("dims")))
    return arrays

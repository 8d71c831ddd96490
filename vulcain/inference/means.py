"""Mean files (step 6 of docs/preprocessing.md): loading, checking, fitting to an input.

A mean is kept as float32 in the network's dimension order without N. A ``.npy`` mean is
already in that order and broadcasts (``(1, 1, 3)`` for NHWC, ``(3, 1, 1)`` for NCHW); a
``.binaryproto`` mean is Caffe's C x H x W and is transposed. A mean image whose spatial
size differs from the input is resized bilinearly to it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from google.protobuf.message import DecodeError

from vulcain.errors import PreprocessingError
from vulcain.schemas import ImagePreprocessing

# Where each axis of Caffe's C x H x W goes for each dimension order.
_FROM_CHW: dict[str, tuple[int, int, int]] = {
    "NCHW": (0, 1, 2),
    "NCWH": (0, 2, 1),
    "NHWC": (1, 2, 0),
    "NWHC": (2, 1, 0),
}


def load_mean(path: Path, spec: ImagePreprocessing) -> np.ndarray:
    """Read a ``.npy`` or ``.binaryproto`` mean for the input described by ``spec`` and
    check it fits that input; raise :class:`PreprocessingError` naming both shapes if not.

    For a fixed target size the mean comes back already fitted (resized) to the input, so
    nothing is resized per image; for ``NETWORK`` resizing it is fitted to each image."""
    name = path.name
    if name.endswith(".npy"):
        mean = _read_npy(path)
    elif name.endswith(".binaryproto"):
        mean = _read_binaryproto(path).transpose(_FROM_CHW[spec.dimension_order])
    else:
        raise PreprocessingError(f"mean file {name}: must end in .binaryproto or .npy.")
    if mean.ndim == 4 and mean.shape[0] == 1:
        mean = mean[0]
    if mean.ndim > 3:
        raise PreprocessingError(
            f"mean file {name} has shape {mean.shape}: expected at most 3 dimensions laid out "
            f"as {spec.dimension_order} without N."
        )
    mean = np.ascontiguousarray(mean, dtype=np.float32)
    _check_channels(mean, spec, name)
    shape = expected_shape(spec)
    return mean if shape is None else fit_mean(mean, spec.dimension_order, shape, name=name)


def _read_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise PreprocessingError(
            f"mean file {path.name} is not a numpy .npy array saved without pickle ({exc})."
        ) from exc
    if not isinstance(array, np.ndarray) or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise PreprocessingError(
            f"mean file {path.name} must hold a real-valued numeric array, "
            f"not {getattr(array, 'dtype', type(array).__name__)}."
        )
    return array


def _read_binaryproto(path: Path) -> np.ndarray:
    from vulcain.caffe_proto import BlobProto

    try:
        blob = BlobProto.FromString(path.read_bytes())
    except (DecodeError, OSError) as exc:
        raise PreprocessingError(
            f"mean file {path.name} is not a Caffe BlobProto ({exc})."
        ) from exc
    if blob.HasField("shape") and len(blob.shape.dim) > 0:
        dims = [int(d) for d in blob.shape.dim]
    else:
        dims = [blob.num, blob.channels, blob.height, blob.width]
    values = blob.data if len(blob.data) > 0 else blob.double_data
    if len(dims) == 4 and dims[0] == 1:
        dims = dims[1:]
    elif len(dims) == 1:
        dims = [dims[0], 1, 1]
    if len(dims) != 3 or any(d <= 0 for d in dims):
        raise PreprocessingError(
            f"mean file {path.name} has blob shape {tuple(dims)}: expected C x H x W "
            "(or 1 x C x H x W)."
        )
    if int(np.prod(dims)) != len(values):
        raise PreprocessingError(
            f"mean file {path.name} declares shape {tuple(dims)} ({int(np.prod(dims))} values) "
            f"but holds {len(values)} values."
        )
    return np.asarray(values, dtype=np.float32).reshape(dims)


def expected_shape(spec: ImagePreprocessing) -> tuple[int, ...] | None:
    """The input tensor shape without N, or ``None`` when it depends on the image
    (``NETWORK`` resizing)."""
    if spec.resize_type == "NETWORK":
        return None
    target = spec.target
    width, height = (target, target) if isinstance(target, int) else target
    sizes = {"C": spec.channels, "H": height, "W": width}
    return tuple(sizes[axis] for axis in spec.dimension_order[1:])


def _check_channels(mean: np.ndarray, spec: ImagePreprocessing, name: str) -> None:
    order = spec.dimension_order
    padded = (1,) * (3 - mean.ndim) + mean.shape
    channels = padded[order[1:].index("C")]
    if channels not in (1, spec.channels):
        raise PreprocessingError(
            f"mean file {name} has shape {mean.shape} with {channels} channels in "
            f"{order} order, but color_channels {spec.color_channels} gives "
            f"{spec.channels}: the input tensor shape without N is "
            f"{_describe(expected_shape(spec), spec)}."
        )


def _describe(shape: tuple[int, ...] | None, spec: ImagePreprocessing) -> str:
    if shape is not None:
        return str(shape)
    return f"{spec.dimension_order[1:]} with the resized image's size"


def _needs_resize(mean: np.ndarray, order: str, shape: tuple[int, ...]) -> bool:
    """Only a mean image (3-D, both spatial sides above 1) is resized; other means
    broadcast as numpy does."""
    if mean.ndim != 3:
        return False
    spatial = [order[1:].index("H"), order[1:].index("W")]
    return all(mean.shape[i] > 1 for i in spatial) and any(
        mean.shape[i] != shape[i] for i in spatial
    )


def fit_mean(
    mean: np.ndarray, order: str, shape: tuple[int, ...], *, name: str = "the mean"
) -> np.ndarray:
    """Return ``mean`` ready to subtract from a tensor of ``shape`` (no N) in ``order``:
    a mean image of another spatial size is resized bilinearly; anything else must
    broadcast."""
    if _needs_resize(mean, order, shape):
        mean = _resize_mean(mean, order, shape)
    try:
        broadcast = np.broadcast_shapes(mean.shape, shape)
    except ValueError:
        broadcast = None
    if broadcast != shape:
        raise PreprocessingError(
            f"{name} has shape {mean.shape}, which cannot broadcast to the input tensor "
            f"shape {shape} ({order} without N); lay the mean out in that order, "
            f"e.g. {_example(order)} for one value per channel."
        )
    return mean


def _resize_mean(mean: np.ndarray, order: str, shape: tuple[int, ...]) -> np.ndarray:
    axes = order[1:]
    to_hwc = (axes.index("H"), axes.index("W"), axes.index("C"))
    target_h, target_w = shape[axes.index("H")], shape[axes.index("W")]
    hwc = np.ascontiguousarray(mean.transpose(to_hwc))
    resized = cv2.resize(hwc, (target_w, target_h), interpolation=cv2.INTER_LINEAR)
    if resized.ndim == 2:
        resized = resized[:, :, np.newaxis]
    back = tuple(to_hwc.index(axis) for axis in range(3))
    return np.ascontiguousarray(resized.transpose(back))


def _example(order: str) -> str:
    return str(tuple(3 if axis == "C" else 1 for axis in order[1:]))

"""The weights of a ``.caffemodel``, by layer name, as float32 arrays of their blob shapes.

Layers are matched by name, as Caffe and OpenCV match them; old files that keep their
layers in the V1 ``layers`` field are read the same way. Converters reshape every blob to
the shape its layer needs (:func:`sized`), checking only its size, as Caffe does for
legacy 4-D blobs.
"""

from __future__ import annotations

import numpy as np
from google.protobuf.message import DecodeError

from vulcain.accelerate._caffe_messages import BlobProto, NetParameter
from vulcain.accelerate._graph import NoOnnxForm

Weights = dict[str, list[np.ndarray]]


def read_weights(data: bytes) -> Weights:
    """Every layer's blobs; :class:`NoOnnxForm` when the file cannot be read."""
    try:
        net = NetParameter.FromString(data)
    except DecodeError:
        raise NoOnnxForm("snapshot.caffemodel cannot be decoded") from None
    weights: Weights = {}
    for layer in [*net.layer, *net.layers]:
        if layer.blobs:
            weights[layer.name] = [_array(layer.name, blob) for blob in layer.blobs]
    return weights


def _array(layer: str, blob: BlobProto) -> np.ndarray:
    if blob.HasField("shape"):
        dims = [int(dim) for dim in blob.shape.dim]
    else:
        dims = [blob.num, blob.channels, blob.height, blob.width]  # legacy 4-D blob
    values = blob.data if len(blob.data) else blob.double_data
    array = np.array(values, dtype=np.float32)
    if array.size != int(np.prod(dims)):
        raise NoOnnxForm(
            f"a blob of layer `{layer}` holds {array.size} values for its shape {tuple(dims)}"
        )
    return array.reshape(dims)


def blobs_of(weights: Weights, layer: str, count: int, what: str) -> list[np.ndarray]:
    """The first ``count`` blobs of ``layer``; :class:`NoOnnxForm` when fewer are stored."""
    blobs = weights.get(layer, [])
    if len(blobs) < count:
        raise NoOnnxForm(
            f"layer `{layer}` needs {what} but snapshot.caffemodel holds "
            f"{len(blobs)} blob(s) for it"
        )
    return blobs[:count]


def sized(layer: str, blob: np.ndarray, shape: tuple[int, ...], what: str) -> np.ndarray:
    """``blob`` reshaped to ``shape``; :class:`NoOnnxForm` when the sizes differ."""
    if blob.size != int(np.prod(shape)):
        raise NoOnnxForm(
            f"layer `{layer}`: its {what} holds {blob.size} values where {tuple(shape)} is needed"
        )
    return blob.reshape(shape)

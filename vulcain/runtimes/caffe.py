"""Caffe networks (``nv-caffe-0.x-mod``) run by OpenCV DNN 4.x.

Layer names are output names; a top blob whose name is no layer's name is an output too.
A ``cv2.dnn.Net`` holds its blobs between calls and is not thread-safe, so every forward
pass (set inputs, run, copy results out) happens under the runtime's lock: a network loaded
once runs one pass at a time (:attr:`CaffeRuntime.one_forward_at_a_time`), and the engine
loads copies of it to run passes side by side. Every pass takes a slot of
:data:`~vulcain.runtimes._opencv_threads.FORWARD_SLOTS`, which decides how many of
OpenCV's threads it gets.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
from google.protobuf.message import DecodeError

from vulcain.caffe_proto import NetParameter
from vulcain.errors import ModelError, UnknownTensorError
from vulcain.frameworks import CAFFE
from vulcain.runtimes._common import opencv_message, require_file
from vulcain.runtimes._opencv_threads import FORWARD_SLOTS
from vulcain.runtimes._proposal import register as register_proposal_layer
from vulcain.runtimes.base import OPENCV, Runtime, TensorSpec
from vulcain.runtimes.prototxt import declared_inputs, parse_prototxt, rewrite_python_layers

register_proposal_layer()


def _blob_size_problem(weights: bytes) -> str | None:
    """Why the caffemodel cannot be right, when protobuf alone can tell."""
    try:
        net = NetParameter.FromString(weights)
    except DecodeError:
        return (
            "snapshot.caffemodel is corrupt: protobuf cannot decode it as a Caffe NetParameter "
            "(the file is truncated or is not a .caffemodel)."
        )
    for layer in net.layer:
        for index, blob in enumerate(layer.blobs):
            dims = list(blob.shape.dim) or [blob.num, blob.channels, blob.height, blob.width]
            needed = int(np.prod(dims)) if dims else 0
            held = len(blob.data) or len(blob.double_data)
            if held != needed:
                return (
                    f"snapshot.caffemodel is corrupt: blob {index} of layer {layer.name!r} "
                    f"holds {held} values but its shape {tuple(dims)} needs {needed}."
                )
    return None


def _read_net(text: str, weights: np.ndarray) -> cv2.dnn.Net:
    try:
        net = cv2.dnn.readNetFromCaffe(np.frombuffer(text.encode("utf-8"), np.uint8), weights)
    except cv2.error as error:
        problem = _blob_size_problem(weights.tobytes())
        raise ModelError(
            problem or f"OpenCV cannot load this Caffe network: {opencv_message(error)}."
        ) from None
    for name in net.getLayerNames():
        try:
            net.getLayer(name)  # creates the layer now: an unknown type fails here, not later
        except cv2.error as error:
            raise ModelError(
                f"OpenCV cannot load this Caffe network: {opencv_message(error)}."
            ) from None
    return net


class CaffeRuntime(Runtime):
    framework = CAFFE
    engine = OPENCV
    one_forward_at_a_time = True

    def __init__(
        self,
        net: cv2.dnn.Net,
        inputs: dict[str, tuple[int, ...] | None],
        tops: dict[str, tuple[str, int]],
    ) -> None:
        self._net: cv2.dnn.Net | None = net
        self._lock = threading.Lock()
        self._inputs = inputs
        layers = list(net.getLayerNames())
        self._sources: dict[str, tuple[str, int]] = {name: (name, 0) for name in layers}
        for top, source in tops.items():
            if top not in self._sources and top not in inputs and source[0] in self._sources:
                self._sources[top] = source
        self._final = list(net.getUnconnectedOutLayersNames())

    @classmethod
    def load(cls, folder: Path) -> CaffeRuntime:
        deploy = require_file(folder, "deploy.prototxt", "the Caffe network definition")
        snapshot = require_file(folder, "snapshot.caffemodel", "the Caffe weights")
        try:
            text = deploy.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ModelError("deploy.prototxt is not a UTF-8 text file.") from None
        prototxt = parse_prototxt(text)
        net = _read_net(rewrite_python_layers(prototxt), np.fromfile(snapshot, dtype=np.uint8))
        tops = {
            top: (layer.name, index)
            for layer in prototxt.net.layer
            for index, top in enumerate(layer.top)
        }
        return cls(net, declared_inputs(prototxt.net), tops)

    def inputs(self) -> list[TensorSpec]:
        return [
            TensorSpec(name, (None, *shape[1:]) if shape else None)
            for name, shape in self._inputs.items()
        ]

    def can_feed(self, name: str) -> bool:
        return name in self._inputs

    def outputs(self) -> list[str]:
        return list(self._sources)

    def final_outputs(self) -> list[str]:
        return list(self._final)

    def has_output(self, name: str) -> bool:
        return name in self._sources

    def forward(
        self, feeds: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> dict[str, np.ndarray]:
        unknown_inputs = [name for name in feeds if name not in self._inputs]
        if unknown_inputs:
            raise UnknownTensorError.for_names(unknown_inputs, self._inputs, kind="input")
        missing = [name for name in self._inputs if name not in feeds]
        if missing:
            raise ModelError(f"The network's inputs {missing} were not fed.")
        unknown = [name for name in outputs if name not in self._sources]
        if unknown:
            raise UnknownTensorError.for_names(unknown, self._sources)
        layers = list(dict.fromkeys(self._sources[name][0] for name in outputs))
        with self._lock, FORWARD_SLOTS.forward():
            if self._net is None:
                raise ModelError("This Caffe network was unloaded; load it again.")
            try:
                for name, value in feeds.items():
                    self._net.setInput(np.ascontiguousarray(value, dtype=np.float32), name)
                retrieved = self._net.forwardAndRetrieve(layers)
            except cv2.error as error:
                shapes = ", ".join(f"{name} {tuple(np.shape(v))}" for name, v in feeds.items())
                raise ModelError(
                    f"The Caffe network failed on inputs of shape {shapes}: "
                    f"{opencv_message(error)}."
                ) from None
            by_layer = dict(zip(layers, retrieved, strict=True))
            results = {}
            for name in outputs:
                layer, index = self._sources[name]
                blobs = by_layer[layer]
                if index >= len(blobs):
                    raise ModelError(f"Layer {layer!r} has no output {index} for {name!r}.")
                results[name] = np.array(blobs[index], dtype=np.float32, copy=True)
        return results

    def close(self) -> None:
        with self._lock:
            self._net = None

"""ONNX networks run by onnxruntime.

Every node output is a name :meth:`OnnxRuntime.forward` can return, and a node's name
stands for its first output. onnxruntime only returns graph outputs, so an intermediate
value needs a session whose graph lists it as an output. This runtime keeps the session of
the model as uploaded (for its own outputs) plus a small LRU of sessions, one per distinct
set of extra outputs asked for.

Why not one session exposing every node output: a value that is a graph output cannot be
fused away or have its buffer reused, so every request (also the common one asking only
for the final outputs) would run slower and hold each activation in memory at once. The
LRU costs instead one more copy of the weights per cached set, bounded by
``MAX_EXTRA_SESSIONS``; requests for a network's usual layers hit the same set.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from vulcain.cores import core_count
from vulcain.errors import ModelError, UnknownTensorError
from vulcain.frameworks import ONNX
from vulcain.runtimes._common import require_file
from vulcain.runtimes.base import Runtime, TensorSpec

MAX_EXTRA_SESSIONS = 4

_NUMPY_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(bool)": "bool",
}


def _session(model: bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = core_count()
    options.inter_op_num_threads = core_count()
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises pybind classes with no common base
        raise ModelError(f"onnxruntime cannot load model.onnx: {error}".rstrip(".") + ".") from None


def _read_model(path: Path) -> onnx.ModelProto:
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # protobuf's DecodeError or onnx's own errors
        raise ModelError(
            f"model.onnx is corrupt: it cannot be read as an ONNX model ({error})."
        ) from None
    external = [
        tensor.name
        for tensor in model.graph.initializer
        if tensor.data_location == onnx.TensorProto.EXTERNAL
    ]
    if external:
        raise ModelError(
            f"model.onnx keeps tensors {external[:5]} in external data files, which cannot be "
            "uploaded: save the model with every tensor inside model.onnx."
        )
    return model


class OnnxRuntime(Runtime):
    framework = ONNX

    def __init__(self, model: onnx.ModelProto, session: ort.InferenceSession) -> None:
        self._model = model
        self._session = session
        self._extra: OrderedDict[frozenset[str], ort.InferenceSession] = OrderedDict()
        self._extra_lock = threading.Lock()
        self._input_types = {
            item.name: _NUMPY_TYPES.get(item.type) for item in session.get_inputs()
        }
        self._inputs = [
            TensorSpec(
                item.name,
                tuple(dim if isinstance(dim, int) else None for dim in item.shape),
                _NUMPY_TYPES.get(item.type, item.type),
            )
            for item in session.get_inputs()
        ]
        self._final = [item.name for item in session.get_outputs()]
        tensors = dict.fromkeys(self._final)
        for node in model.graph.node:
            tensors.update(dict.fromkeys(name for name in node.output if name))
        aliases = {
            node.name: node.output[0]
            for node in model.graph.node
            if node.name and node.output and node.output[0] and node.name not in tensors
        }
        self._names: dict[str, str] = {name: name for name in tensors} | aliases

    @classmethod
    def load(cls, folder: Path) -> OnnxRuntime:
        model = _read_model(require_file(folder, "model.onnx", "the ONNX model"))
        return cls(model, _session(model.SerializeToString()))

    def inputs(self) -> list[TensorSpec]:
        return list(self._inputs)

    def can_feed(self, name: str) -> bool:
        return name in self._input_types

    def outputs(self) -> list[str]:
        return list(self._names)

    def final_outputs(self) -> list[str]:
        return list(self._final)

    def has_output(self, name: str) -> bool:
        return name in self._names

    def _session_for(self, extra: frozenset[str]) -> ort.InferenceSession:
        if not extra:
            return self._session
        with self._extra_lock:
            session = self._extra.get(extra)
            if session is not None:
                self._extra.move_to_end(extra)
                return session
            model = onnx.ModelProto()
            model.CopyFrom(self._model)
            model.graph.output.extend(onnx.ValueInfoProto(name=name) for name in sorted(extra))
            session = _session(model.SerializeToString())
            self._extra[extra] = session
            while len(self._extra) > MAX_EXTRA_SESSIONS:
                self._extra.popitem(last=False)
            return session

    def forward(
        self, feeds: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> dict[str, np.ndarray]:
        unknown_inputs = [name for name in feeds if name not in self._input_types]
        if unknown_inputs:
            raise UnknownTensorError.for_names(unknown_inputs, self._input_types, kind="input")
        unknown = [name for name in outputs if name not in self._names]
        if unknown:
            raise UnknownTensorError.for_names(unknown, self._names)
        tensors = list(dict.fromkeys(self._names[name] for name in outputs))
        session = self._session_for(frozenset(tensors) - set(self._final))
        inputs = {
            name: np.ascontiguousarray(value, dtype=self._input_types[name] or None)
            for name, value in feeds.items()
        }
        try:
            values = session.run(tensors, inputs)
        except Exception as error:  # onnxruntime's pybind errors (shape, type, missing input)
            raise ModelError(f"The ONNX network failed: {error}".rstrip(".") + ".") from None
        by_tensor = dict(zip(tensors, values, strict=True))
        return {name: by_tensor[self._names[name]] for name in outputs}

    def close(self) -> None:
        with self._extra_lock:
            self._extra.clear()

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
``MAX_EXTRA_SESSIONS``; requests for a network's usual layers hit the same set. The model
itself is not kept in memory (it would double the weights): a new set reads it again.

Sessions allocate each run's tensors and free them after (no arena, no memory pattern) and
keep weights outside the arena too: a session then holds about its weights' size, where
an arena keeps the largest batch's activations for good (measured on open_nsfw: 1.1x the
weights instead of 2.3x once a batch of 4 ran, at the same speed). Their threads sleep
instead of spinning while they wait for work: the cores are shared with decoding and the
HTTP front end, and spinning threads took them from those (open_nsfw on 2 busy cores:
25 ms of CPU per image without spinning, 40 to 48 ms with).
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
from vulcain.runtimes._common import as_input_type, require_file
from vulcain.runtimes.base import ONNXRUNTIME, Runtime, TensorSpec

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


def open_session(model: bytes | Path, label: str = "model.onnx") -> ort.InferenceSession:
    """A CPU session on ``model`` (a file or its bytes) with this module's options."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = core_count()
    options.inter_op_num_threads = core_count()
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    options.add_session_config_entry("session.use_device_allocator_for_initializers", "1")
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    source = str(model) if isinstance(model, Path) else model
    try:
        return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises pybind classes with no common base
        raise ModelError(f"onnxruntime cannot load {label}: {error}".rstrip(".") + ".") from None


def read_model(path: Path) -> onnx.ModelProto:
    """The model of ``path``, whose tensors must all be inside it."""
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # protobuf's DecodeError or onnx's own errors
        raise ModelError(
            f"{path.name} is corrupt: it cannot be read as an ONNX model ({error})."
        ) from None
    external = [
        tensor.name
        for tensor in model.graph.initializer
        if tensor.data_location == onnx.TensorProto.EXTERNAL
    ]
    if external:
        raise ModelError(
            f"{path.name} keeps tensors {external[:5]} in external data files, which cannot be "
            "uploaded: save the model with every tensor inside model.onnx."
        )
    return model


def tensor_names(model: onnx.ModelProto) -> dict[str, str]:
    """Every node output by name, and each node's name for its first output (unless that
    name is a tensor's)."""
    tensors = dict.fromkeys(item.name for item in model.graph.output)
    for node in model.graph.node:
        tensors.update(dict.fromkeys(name for name in node.output if name))
    aliases = {
        node.name: node.output[0]
        for node in model.graph.node
        if node.name and node.output and node.output[0] and node.name not in tensors
    }
    return {name: name for name in tensors} | aliases


class OnnxRuntime(Runtime):
    framework = ONNX
    engine = ONNXRUNTIME

    def __init__(
        self,
        path: Path,
        session: ort.InferenceSession,
        names: Mapping[str, str],
        final: Sequence[str],
        feeds: Mapping[str, str] | None = None,
    ) -> None:
        """``names`` maps every name :meth:`forward` answers for to its tensor of the model
        in ``path``; ``final`` are the names of its graph outputs; ``feeds`` maps each input
        name to its graph input (by default the graph inputs' own names)."""
        self._path = path
        self._session = session
        self._extra: OrderedDict[frozenset[str], ort.InferenceSession] = OrderedDict()
        self._extra_lock = threading.Lock()
        graph_inputs = {item.name: item for item in session.get_inputs()}
        self._feeds = dict(feeds) if feeds is not None else {name: name for name in graph_inputs}
        self._input_types = {
            name: _NUMPY_TYPES.get(graph_inputs[tensor].type)
            for name, tensor in self._feeds.items()
        }
        first_names = {tensor: name for name, tensor in reversed(self._feeds.items())}
        self._inputs = [
            TensorSpec(
                first_names[item.name],
                tuple(dim if isinstance(dim, int) else None for dim in item.shape),
                _NUMPY_TYPES.get(item.type, item.type),
            )
            for item in session.get_inputs()
        ]
        self._final = list(final)
        self._graph_outputs = frozenset(item.name for item in session.get_outputs())
        self._names = dict(names)

    @classmethod
    def load(cls, folder: Path) -> OnnxRuntime:
        path = require_file(folder, "model.onnx", "the ONNX model")
        model = read_model(path)
        names, final = tensor_names(model), [item.name for item in model.graph.output]
        del model
        return cls(path, open_session(path), names, final)

    def inputs(self) -> list[TensorSpec]:
        return list(self._inputs)

    def can_feed(self, name: str) -> bool:
        return name in self._feeds

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
            model = read_model(self._path)
            model.graph.output.extend(onnx.ValueInfoProto(name=name) for name in sorted(extra))
            session = open_session(model.SerializeToString(), self._path.name)
            del model
            self._extra[extra] = session
            while len(self._extra) > MAX_EXTRA_SESSIONS:
                self._extra.popitem(last=False)
            return session

    def forward(
        self, feeds: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> dict[str, np.ndarray]:
        unknown_inputs = [name for name in feeds if name not in self._feeds]
        if unknown_inputs:
            raise UnknownTensorError.for_names(unknown_inputs, self._feeds, kind="input")
        unknown = [name for name in outputs if name not in self._names]
        if unknown:
            raise UnknownTensorError.for_names(unknown, self._names)
        tensors = list(dict.fromkeys(self._names[name] for name in outputs))
        session = self._session_for(frozenset(tensors) - self._graph_outputs)
        inputs = {
            self._feeds[name]: as_input_type(value, self._input_types[name])
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

"""TensorFlow 1.x SavedModels run through ``tf.compat.v1`` sessions (``serve`` tag).

Any tensor of the graph can be fed (when TensorFlow allows feeding it) or fetched. A name
is a tensor name (``scope/op:1``) or an operation name (``scope/op``), which means its first
output ``:0``. Each model has its own ``tf.Graph`` and one ``Session``; ``Session.run`` is
thread-safe, so calls from several threads share it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from vulcain.cores import core_count
from vulcain.errors import ModelError, UnknownTensorError
from vulcain.frameworks import TENSORFLOW
from vulcain.runtimes._common import as_input_type
from vulcain.runtimes.base import TENSORFLOW_ENGINE, Runtime, TensorSpec
from vulcain.runtimes.saved_model import (
    model_file,
    read_saved_model,
    serving_meta_graph,
    staged_export,
    variables_files,
)

_PLACEHOLDERS = {"Placeholder", "PlaceholderWithDefault", "PlaceholderV2"}
# Operations left out of the names an error message suggests: weights and their plumbing.
_PLUMBING = {
    "Const",
    "VarHandleOp",
    "VariableV2",
    "ReadVariableOp",
    "VarIsInitializedOp",
    "AssignVariableOp",
    "Assign",
    "NoOp",
}


_NOISE = ("Graph execution error", "Detected at node", "[[", 'File "', "(defined at")


def _first_line(error: Exception) -> str:
    """The sentence of a TensorFlow error without its graph-execution boilerplate."""
    text = getattr(error, "message", None) or str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    kept = [line for line in lines if not line.startswith(_NOISE)]
    node = next((line[len("Node: ") :] for line in kept if line.startswith("Node: ")), None)
    rest = [line for line in kept if not line.startswith("Node: ")]
    message = (rest[-1] if rest else lines[0] if lines else type(error).__name__).rstrip(".")
    return f"{message} (at node {node})" if node else message


class TensorFlowRuntime(Runtime):
    framework = TENSORFLOW
    engine = TENSORFLOW_ENGINE

    def __init__(self, graph: tf.Graph, session: tf.compat.v1.Session, final: list[str]) -> None:
        self._graph = graph
        self._session = session
        self._final = final
        placeholders = [
            op
            for op in graph.get_operations()
            if op.type in _PLACEHOLDERS and op.outputs[0].dtype != tf.string
        ]
        self._inputs = [
            TensorSpec(
                op.name,
                tuple(op.outputs[0].shape.as_list())
                if op.outputs[0].shape.rank is not None
                else None,
                op.outputs[0].dtype.name,
            )
            for op in placeholders
        ]

    @classmethod
    def load(cls, folder: Path) -> TensorFlowRuntime:
        model = model_file(folder)
        meta_graph = serving_meta_graph(read_saved_model(model))
        variables = variables_files(folder, meta_graph)
        graph = tf.Graph()
        config = tf.compat.v1.ConfigProto(
            intra_op_parallelism_threads=core_count(),
            inter_op_parallelism_threads=core_count(),
        )
        session = tf.compat.v1.Session(graph=graph, config=config)
        try:
            with staged_export(model, variables) as export, graph.as_default():
                loaded = tf.compat.v1.saved_model.loader.load(
                    session, list(meta_graph.meta_info_def.tags), str(export)
                )
        except Exception as error:  # tf.errors.OpError, ValueError, RuntimeError, ...
            session.close()
            raise ModelError(
                f"TensorFlow cannot load the SavedModel: {_first_line(error)}."
            ) from None
        final = [
            _op_or_tensor(info.name)
            for signature in loaded.signature_def.values()
            for info in signature.outputs.values()
        ]
        return cls(graph, session, list(dict.fromkeys(final)))

    def _tensor(self, name: str) -> tf.Tensor | None:
        try:
            if ":" in name:
                return self._graph.get_tensor_by_name(name)
            operation = self._graph.get_operation_by_name(name)
        except (KeyError, ValueError, TypeError):
            return None
        return operation.outputs[0] if operation.outputs else None

    def inputs(self) -> list[TensorSpec]:
        return list(self._inputs)

    def can_feed(self, name: str) -> bool:
        tensor = self._tensor(name)
        return tensor is not None and self._graph.is_feedable(tensor)

    def outputs(self) -> list[str]:
        """Operation names (meaning their output ``:0``) and every ``op:N`` tensor name."""
        names: list[str] = []
        for operation in self._graph.get_operations():
            if operation.outputs:
                names.append(operation.name)
                names.extend(tensor.name for tensor in operation.outputs)
        return names

    def final_outputs(self) -> list[str]:
        return list(self._final)

    def has_output(self, name: str) -> bool:
        return self._tensor(name) is not None

    def _known(self) -> list[str]:
        """Names worth suggesting: inputs, signature outputs, then the graph's layers."""
        layers = [
            op.name
            for op in self._graph.get_operations()
            if op.outputs and op.type not in _PLUMBING and not op.name.startswith("save/")
        ]
        return list(dict.fromkeys([spec.name for spec in self._inputs] + self._final + layers))

    def forward(
        self, feeds: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> dict[str, np.ndarray]:
        found_feeds = {name: self._tensor(name) for name in feeds}
        unknown_inputs = [name for name, tensor in found_feeds.items() if tensor is None]
        if unknown_inputs:
            raise UnknownTensorError.for_names(unknown_inputs, self._known(), kind="input")
        found_fetches = {name: self._tensor(name) for name in outputs}
        unknown = [name for name, tensor in found_fetches.items() if tensor is None]
        if unknown:
            raise UnknownTensorError.for_names(unknown, self._known())
        feed_tensors = {name: t for name, t in found_feeds.items() if t is not None}
        fetches = {name: t for name, t in found_fetches.items() if t is not None}
        not_feedable = [n for n, t in feed_tensors.items() if not self._graph.is_feedable(t)]
        if not_feedable:
            raise ModelError(f"TensorFlow does not allow feeding {not_feedable}.")
        feed_dict = {
            tensor.name: as_input_type(np.asarray(feeds[name]), tensor.dtype.as_numpy_dtype)
            for name, tensor in feed_tensors.items()
        }
        tensor_names = list(dict.fromkeys(tensor.name for tensor in fetches.values()))
        try:
            values = self._session.run(tensor_names, feed_dict=feed_dict)
        except Exception as error:  # tf.errors.OpError, ValueError on feed shapes, ...
            raise ModelError(f"The TensorFlow network failed: {_first_line(error)}.") from None
        by_name = dict(zip(tensor_names, values, strict=True))
        return {name: np.asarray(by_name[tensor.name]) for name, tensor in fetches.items()}

    def close(self) -> None:
        self._session.close()


def _op_or_tensor(name: str) -> str:
    return name[:-2] if name.endswith(":0") else name

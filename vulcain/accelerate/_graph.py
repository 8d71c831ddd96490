"""An ONNX graph under construction: values with their static shapes, nodes, weights.

Converters add nodes through :class:`GraphBuilder`, which names every value uniquely and
remembers each value's shape, so a layer can be converted with the sizes it will see (the
converted network has fixed sizes but for the batch, the first dimension, which stays
symbolic so that the dynamic batcher may run any number of requests together).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
"""Supported by every onnxruntime this project allows (>= 1.18) and onnx >= 1.16."""
IR_VERSION = 8
"""The IR version of opset 17: a newer one (onnx's default) would refuse older runtimes."""
BATCH = "batch"
"""The symbolic first dimension of every input and output."""

Shape = tuple[int | None, ...]
"""A value's shape; ``None`` only first, for the batch."""


class NoOnnxForm(Exception):
    """The network cannot be converted exactly; ``reason`` says why, in a sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Value:
    """A value of the graph and its shape."""

    name: str
    shape: Shape

    @property
    def rank(self) -> int:
        return len(self.shape)

    def dim(self, axis: int) -> int:
        """The size of axis ``axis``: known for every axis but the batch's."""
        size = self.shape[axis]
        if size is None:
            raise TypeError(f"value {self.name}: the size of axis {axis} is not known")
        return int(size)


class GraphBuilder:
    """Collects nodes and weights; every value name it hands out is unique."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[Value] = []
        self._taken: set[str] = set()

    def fresh(self, hint: str) -> str:
        """A value name not used yet: ``hint`` itself when free."""
        name, index = hint, 1
        while name in self._taken:
            index += 1
            name = f"{hint}#{index}"
        self._taken.add(name)
        return name

    def add_input(self, name: str, shape: Shape) -> Value:
        value = Value(self.fresh(name), shape)
        if value.name != name:
            raise NoOnnxForm(f"the input name {name!r} is declared twice")
        self.inputs.append(value)
        return value

    def const(self, hint: str, array: np.ndarray) -> str:
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def shape_const(self, hint: str, dims: Sequence[int]) -> str:
        return self.const(hint, np.asarray(list(dims), dtype=np.int64))

    def op(
        self,
        op_type: str,
        inputs: Sequence[str],
        hint: str,
        shape: Shape,
        **attributes: Any,
    ) -> Value:
        """One node with one output, named after ``hint``."""
        return self.op_many(op_type, inputs, [hint], [shape], **attributes)[0]

    def op_many(
        self,
        op_type: str,
        inputs: Sequence[str],
        hints: Sequence[str],
        shapes: Sequence[Shape],
        **attributes: Any,
    ) -> list[Value]:
        outputs = [
            Value(self.fresh(hint), shape) for hint, shape in zip(hints, shapes, strict=True)
        ]
        self.nodes.append(
            helper.make_node(
                op_type,
                list(inputs),
                [value.name for value in outputs],
                name=outputs[0].name,
                **attributes,
            )
        )
        return outputs

    def model(self, outputs: Sequence[Value], name: str) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes,
            name or "converted",
            [_info(value) for value in self.inputs],
            [_info(value) for value in outputs],
            initializer=self.initializers,
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="vulcain",
        )
        model.ir_version = IR_VERSION
        return model


def _info(value: Value) -> onnx.ValueInfoProto:
    dims = [BATCH if dim is None else dim for dim in value.shape]
    return helper.make_tensor_value_info(value.name, TensorProto.FLOAT, dims)

"""What a Caffe layer converter is given, and the registry of converters by layer type.

A converter turns one layer into ONNX nodes and returns one value per top. It refuses a
layer it cannot reproduce exactly by raising :class:`~vulcain.accelerate._graph.NoOnnxForm`
through :meth:`LayerContext.fail`, whose sentence names the layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vulcain.accelerate._caffe_messages import LayerParameter
from vulcain.accelerate._caffe_weights import Weights, blobs_of, sized
from vulcain.accelerate._graph import GraphBuilder, NoOnnxForm, Value


@dataclass
class LayerContext:
    graph: GraphBuilder
    layer: LayerParameter
    bottoms: list[Value]
    weights: Weights

    @property
    def name(self) -> str:
        return str(self.layer.name)

    def fail(self, why: str) -> NoOnnxForm:
        return NoOnnxForm(f"layer `{self.name}` (type {self.layer.type}) {why}")

    def one_bottom(self) -> Value:
        if len(self.bottoms) != 1:
            raise self.fail(f"has {len(self.bottoms)} bottoms where one is expected")
        return self.bottoms[0]

    def blobs(self, count: int, what: str) -> list[np.ndarray]:
        return blobs_of(self.weights, self.name, count, what)

    def sized(self, blob: np.ndarray, shape: tuple[int, ...], what: str) -> np.ndarray:
        return sized(self.name, blob, shape, what)

    def axis(self, axis: int, rank: int) -> int:
        """``axis`` counted from 0 (Caffe allows negative axes); never the batch axis."""
        index = axis + rank if axis < 0 else axis
        if not 0 <= index < rank:
            raise self.fail(f"has axis {axis} on a blob of {rank} axes")
        if index == 0:
            raise self.fail("works across the batch axis, which a batched forward pass shares")
        return index

    def hint(self, index: int = 0) -> str:
        """The name of top ``index``'s value: the layer's name for the first top."""
        return self.name if index == 0 else f"{self.name}:{index}"

    def static(self, value: Value) -> tuple[int, ...]:
        """The dimensions of ``value`` after the batch."""
        return tuple(value.dim(axis) for axis in range(1, value.rank))


Converter = Callable[[LayerContext], list[Value]]
CONVERTERS: dict[str, Converter] = {}


def converts(*types: str) -> Callable[[Converter], Converter]:
    """Register the decorated function as the converter of these layer types."""

    def register(function: Converter) -> Converter:
        for layer_type in types:
            CONVERTERS[layer_type] = function
        return function

    return register

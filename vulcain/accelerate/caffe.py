"""A Caffe network (``deploy.prototxt`` + ``snapshot.caffemodel``) as an ONNX model.

No maintained converter exists (``caffe2onnx`` 2.0.1, last released in 2021, fixes the
batch at 1 and needs protobuf's pure-Python implementation; ``caffe-onnx`` 0.1.2 pins
protobuf 3.20 and installs top-level packages named ``src`` and ``proto``), so this one
builds the graph layer by layer from the parsed NetParameter, with Caffe's own semantics
(the converters live in ``_caffe_spatial``, ``_caffe_pointwise`` and ``_caffe_shapes``).

Every name the reference runtime answers for stays a name of the converted network: a
layer's name stands for its first top as that layer computed it (before any later layer
works on the same blob in place), and a top that is no layer's name stands for its last
producer. The input sizes are those the preprocessing feeds, fixed, but for the batch.
Anything the converter cannot reproduce exactly raises :class:`NoOnnxForm` naming the
layer; the deployment then keeps the reference runtime and records the sentence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import onnx
from google.protobuf import text_format

# Registers every converter.
from vulcain.accelerate import _caffe_pointwise, _caffe_shapes, _caffe_spatial  # noqa: F401
from vulcain.accelerate._caffe_layer import CONVERTERS, LayerContext
from vulcain.accelerate._caffe_messages import NetParameter
from vulcain.accelerate._caffe_weights import read_weights
from vulcain.accelerate._graph import GraphBuilder, NoOnnxForm, Value
from vulcain.runtimes.prototxt import declared_inputs


@dataclass(frozen=True)
class Conversion:
    """A converted network and how the reference runtime's names map onto it."""

    model: onnx.ModelProto
    names: dict[str, str]
    """Every output name (layer or top) to its ONNX value."""
    inputs: dict[str, str]
    """Every input name to its ONNX graph input."""


def _parse(prototxt: str) -> NetParameter:
    net = NetParameter()
    try:
        text_format.Parse(prototxt, net, allow_unknown_field=True)
    except text_format.ParseError as error:
        raise NoOnnxForm(f"deploy.prototxt cannot be read for conversion: {error}") from None
    if net.layers:
        raise NoOnnxForm("deploy.prototxt uses Caffe's old V1 `layers` format")
    return net


def convert_caffe(
    prototxt: str,
    caffemodel: bytes,
    input_shapes: Mapping[str, tuple[int, ...]],
    final: Sequence[str],
) -> Conversion:
    """Convert the network for inputs of ``input_shapes`` (each without the batch axis),
    with the names in ``final`` as graph outputs."""
    net = _parse(prototxt)
    weights = read_weights(caffemodel)
    graph = GraphBuilder()
    current: dict[str, Value] = {}
    for name in declared_inputs(net):
        if name not in input_shapes:
            raise NoOnnxForm(f"the input `{name}` is not one the preprocessing feeds")
        current[name] = graph.add_input(name, (None, *input_shapes[name]))
    produced: dict[tuple[str, int], Value] = {}
    layer_names: list[str] = []
    for layer in net.layer:
        if layer.type == "Input":
            continue
        if layer.include or layer.exclude:
            raise NoOnnxForm(f"layer `{layer.name}` is kept or dropped by include/exclude rules")
        converter = CONVERTERS.get(layer.type)
        if converter is None:
            raise NoOnnxForm(f"layer `{layer.name}` (type {layer.type}) has no ONNX form")
        missing = [bottom for bottom in layer.bottom if bottom not in current]
        if missing:
            raise NoOnnxForm(f"layer `{layer.name}` reads `{missing[0]}`, which nothing makes")
        context = LayerContext(graph, layer, [current[b] for b in layer.bottom], weights)
        tops = converter(context)
        if len(tops) != len(layer.top):
            raise context.fail(f"has {len(layer.top)} tops where {len(tops)} are made")
        for index, (top, value) in enumerate(zip(layer.top, tops, strict=True)):
            produced[layer.name, index] = value
            current[top] = value
        layer_names.append(layer.name)
    names = _names(net, layer_names, produced)
    outputs = list(
        {_final_value(names, name).name: _final_value(names, name) for name in final}.values()
    )
    model = graph.model(outputs, net.name)
    inputs = {value.name: value.name for value in graph.inputs}
    return Conversion(model, {name: value.name for name, value in names.items()}, inputs)


def _names(
    net: NetParameter, layer_names: list[str], produced: dict[tuple[str, int], Value]
) -> dict[str, Value]:
    """Layer names, then tops that are no layer's name (their last producer), as the
    reference runtime names its outputs."""
    names = {name: produced[name, 0] for name in layer_names if (name, 0) in produced}
    reserved = set(layer_names) | set(declared_inputs(net))
    for layer in net.layer:
        for index, top in enumerate(layer.top):
            if top not in reserved and (layer.name, index) in produced:
                names[top] = produced[layer.name, index]
    return names


def _final_value(names: dict[str, Value], name: str) -> Value:
    if name not in names:
        raise NoOnnxForm(f"the output `{name}` has no counterpart in the converted network")
    return names[name]

"""Reading a Caffe ``deploy.prototxt`` before OpenCV does: clear syntax errors, the
declared inputs, and Faster-RCNN's Python proposal layer rewritten to the proposal layer
of :mod:`vulcain.runtimes._proposal`.

The rewrite works on the text (replacing whole ``layer { ... }`` blocks), because the
parsed message holds only the fields Vulcain declares and re-serialising it would drop
every other parameter.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from google.protobuf import text_format

from vulcain.caffe_proto import LayerParameter, NetParameter
from vulcain.errors import ModelError
from vulcain.runtimes._proposal import LAYER_TYPE, LAYER_TYPE_WITH_SCORES

PROPOSAL_MODULE = "rpn.proposal_layer"
# py-faster-rcnn's defaults (lib/fast_rcnn/config.py, TEST phase; generate_anchors.py).
_DEFAULT_SCALES = (8.0, 16.0, 32.0)
_DEFAULT_RATIOS = (0.5, 1.0, 2.0)
_DEFAULT_PROPOSAL = {
    "feat_stride": 16,
    "base_size": 16,
    "min_size": 16,
    "pre_nms_topn": 6000,
    "post_nms_topn": 300,
    "nms_thresh": 0.7,
}


@dataclass(frozen=True)
class Prototxt:
    text: str
    net: NetParameter


def parse_prototxt(text: str) -> Prototxt:
    """Parse the fields Vulcain needs; a syntax error becomes a ModelError with its line."""
    net = NetParameter()
    try:
        text_format.Parse(text, net, allow_unknown_field=True)
    except text_format.ParseError as error:
        raise ModelError(f"deploy.prototxt has a syntax error: {error}.") from None
    return Prototxt(text=text, net=net)


def declared_inputs(net: NetParameter) -> dict[str, tuple[int, ...] | None]:
    """Inputs declared by ``input:`` fields or ``Input`` layers, with their shapes."""
    inputs: dict[str, tuple[int, ...] | None] = {}
    for index, name in enumerate(net.input):
        if index < len(net.input_shape):
            inputs[name] = tuple(net.input_shape[index].dim)
        elif len(net.input_dim) >= 4 * (index + 1):
            inputs[name] = tuple(net.input_dim[4 * index : 4 * index + 4])
        else:
            inputs[name] = None
    for layer in net.layer:
        if layer.type != "Input":
            continue
        shapes = list(layer.input_param.shape)
        for index, top in enumerate(layer.top):
            shape = shapes[index] if index < len(shapes) else (shapes[0] if shapes else None)
            inputs[top] = tuple(shape.dim) if shape is not None else None
    return inputs


def _layer_block_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every top-level ``layer { ... }`` block, in order."""
    spans: list[tuple[int, int]] = []
    depth = 0
    block_start = -1
    token = re.compile(r'#[^\n]*|"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|[{}]|\blayer\b')
    for match in token.finditer(text):
        value = match.group()
        if value == "{":
            depth += 1
        elif value == "}":
            depth -= 1
            if depth == 0 and block_start >= 0:
                spans.append((block_start, match.end()))
                block_start = -1
        elif value == "layer" and depth == 0:
            block_start = match.start()
    return spans


def _param_str_values(layer: LayerParameter) -> dict[str, object]:
    """py-faster-rcnn reads param_str as YAML: accept ``'key': value`` pairs, with or
    without braces, separated by commas or new lines."""
    raw = layer.python_param.param_str.strip()
    if not raw:
        return {}
    body = raw[1:-1] if raw.startswith("{") and raw.endswith("}") else raw
    body = ",".join(line for line in body.splitlines() if line.strip())
    body = re.sub(r"(^|[{,]\s*)([A-Za-z_]\w*)\s*:", r"\1'\2':", body)
    try:
        values = ast.literal_eval("{" + body + "}")
    except (ValueError, SyntaxError):
        raise ModelError(
            f"Layer {layer.name!r}: python_param.param_str {raw!r} cannot be read; "
            "write it as 'feat_stride': 16 (optionally with 'scales' and 'ratios' lists)."
        ) from None
    if not isinstance(values, dict):  # pragma: no cover - literal_eval of {...} is a dict
        raise ModelError(f"Layer {layer.name!r}: python_param.param_str must be a mapping.")
    return values


def _numbers(value: object, key: str, layer: LayerParameter) -> list[float]:
    items: list[Any] = list(value) if isinstance(value, list | tuple) else [value]
    try:
        return [float(item) for item in items]
    except (TypeError, ValueError):
        raise ModelError(
            f"Layer {layer.name!r}: param_str {key!r} must be a number or a list of numbers."
        ) from None


def _proposal_block(layer: LayerParameter) -> str:
    values = _param_str_values(layer)
    params: dict[str, float] = dict(_DEFAULT_PROPOSAL)
    for key in ("feat_stride", "base_size", "min_size", "pre_nms_topn", "post_nms_topn"):
        if key in values:
            params[key] = int(_numbers(values[key], key, layer)[0])
    if "nms_thresh" in values:
        params["nms_thresh"] = _numbers(values["nms_thresh"], "nms_thresh", layer)[0]
    scales = _numbers(values.get("scales", _DEFAULT_SCALES), "scales", layer)
    ratios = _numbers(values.get("ratios", _DEFAULT_RATIOS), "ratios", layer)
    fields = [f"{key}: {value}" for key, value in params.items()]
    fields += [f"scale: {scale}" for scale in scales] + [f"ratio: {ratio}" for ratio in ratios]
    kind = LAYER_TYPE_WITH_SCORES if len(layer.top) > 1 else LAYER_TYPE
    lines = [f"  name: {_quote(layer.name)}", f"  type: {_quote(kind)}"]
    lines += [f"  bottom: {_quote(bottom)}" for bottom in layer.bottom]
    lines += [f"  top: {_quote(top)}" for top in layer.top]
    lines.append("  proposal_param { " + " ".join(fields) + " }")
    return "layer {\n" + "\n".join(lines) + "\n}"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rewrite_python_layers(prototxt: Prototxt) -> str:
    """The prototxt text with each ``rpn.proposal_layer`` Python layer turned into a
    proposal layer of :mod:`vulcain.runtimes._proposal` (the reference's computation,
    registered with OpenCV); any other Python layer is refused with its name."""
    python_layers = [
        (index, layer) for index, layer in enumerate(prototxt.net.layer) if layer.type == "Python"
    ]
    if not python_layers:
        return prototxt.text
    for _, layer in python_layers:
        module = layer.python_param.module
        if module != PROPOSAL_MODULE:
            raise ModelError(
                f"Layer {layer.name!r} is a Python layer of module {module!r}, which cannot "
                f"run here: only Faster-RCNN's {PROPOSAL_MODULE!r} proposal layer is supported."
            )
    spans = _layer_block_spans(prototxt.text)
    if len(spans) != len(prototxt.net.layer):
        raise ModelError(
            "deploy.prototxt: the layer blocks of its Python proposal layer could not be "
            "located; write each layer as `layer { ... }`."
        )
    text = prototxt.text
    for index, layer in reversed(python_layers):
        start, end = spans[index]
        text = text[:start] + _proposal_block(layer) + text[end:]
    return text

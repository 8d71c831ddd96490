"""A ResNet-50-shaped Caffe network with random weights, written once and cached.

The layout is the original Caffe ResNet-50 (7x7 stem, bottleneck stages of 3, 4, 6 and 3
blocks, projection shortcuts, stride 2 in the first 1x1 convolution of a stage), with each
BatchNorm+Scale folded into its convolution's bias, as OpenCV folds them anyway: about 25.5
million parameters on a 224x224 BGR input, output ``prob`` over 1000 classes.

Weights are He-initialised, and each block's last convolution is scaled down so the
activations stay in a normal float range through the residual sums (denormals or infinities
would make the forward pass slower or faster than a trained network's).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vulcain.caffe_proto import BlobProto, NetParameter

INPUT_SIZE = 224
CLASSES = 1000
STAGES = ((64, 3), (128, 4), (256, 6), (512, 3))
EXPANSION = 4
RESIDUAL_GAIN = 0.2
VERSION = 1
"""Bumped whenever the network changes, so a stale cache is rebuilt."""


def _packed_floats(field_number: int, values: np.ndarray) -> bytes:
    """A packed ``repeated float`` field, serialised without going through Python floats."""
    payload = np.ascontiguousarray(values, dtype="<f4").tobytes()
    return _varint(field_number << 3 | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _blob_bytes(array: np.ndarray) -> bytes:
    shape = BlobProto()
    shape.shape.dim.extend(array.shape)
    return shape.SerializeToString() + _packed_floats(5, array.ravel())


class _NetWriter:
    """Accumulates prototxt layers and their weights."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.layers: list[str] = []
        self.weights: dict[str, list[np.ndarray]] = {}
        self.parameters = 0

    def conv(
        self,
        name: str,
        bottom: str,
        inputs: int,
        outputs: int,
        kernel: int,
        *,
        stride: int = 1,
        pad: int = 0,
        gain: float = 1.0,
    ) -> str:
        self.layers.append(
            f'layer {{ name: "{name}" type: "Convolution" bottom: "{bottom}" top: "{name}"\n'
            f"  convolution_param {{ num_output: {outputs} kernel_size: {kernel} "
            f"stride: {stride} pad: {pad} }} }}"
        )
        std = gain * np.sqrt(2.0 / (inputs * kernel * kernel))
        kernel_w = self.rng.standard_normal((outputs, inputs, kernel, kernel), np.float32)
        kernel_w *= np.float32(std)
        bias = self.rng.normal(0, 0.01, outputs).astype(np.float32)
        self.weights[name] = [kernel_w, bias]
        self.parameters += kernel_w.size + bias.size
        return name

    def relu(self, bottom: str) -> str:
        self.layers.append(
            f'layer {{ name: "{bottom}_relu" type: "ReLU" bottom: "{bottom}" top: "{bottom}" }}'
        )
        return bottom

    def add(self, name: str, first: str, second: str) -> str:
        self.layers.append(
            f'layer {{ name: "{name}" type: "Eltwise" bottom: "{first}" bottom: "{second}" '
            f'top: "{name}" eltwise_param {{ operation: SUM }} }}'
        )
        return name

    def raw(self, text: str) -> None:
        self.layers.append(text)


def _bottleneck(
    net: _NetWriter, name: str, bottom: str, inputs: int, width: int, stride: int
) -> str:
    outputs = width * EXPANSION
    branch = net.relu(net.conv(f"{name}_branch2a", bottom, inputs, width, 1, stride=stride))
    branch = net.relu(net.conv(f"{name}_branch2b", branch, width, width, 3, pad=1))
    branch = net.conv(f"{name}_branch2c", branch, width, outputs, 1, gain=RESIDUAL_GAIN)
    shortcut = bottom
    if stride != 1 or inputs != outputs:
        shortcut = net.conv(f"{name}_branch1", bottom, inputs, outputs, 1, stride=stride)
    return net.relu(net.add(name, shortcut, branch))


def build_resnet50(dest: Path, seed: int = 0) -> tuple[Path, Path, int]:
    """Write ``deploy.prototxt`` and ``snapshot.caffemodel`` into ``dest`` (reused when
    already there); return both paths and the parameter count."""
    dest.mkdir(parents=True, exist_ok=True)
    prototxt = dest / "deploy.prototxt"
    caffemodel = dest / "snapshot.caffemodel"
    count_file = dest / f"parameters.v{VERSION}"
    if prototxt.exists() and caffemodel.exists() and count_file.exists():
        return prototxt, caffemodel, int(count_file.read_text())
    net = _NetWriter(np.random.default_rng(seed))
    top = net.relu(net.conv("conv1", "data", 3, 64, 7, stride=2, pad=3))
    net.raw(
        'layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"\n'
        "  pooling_param { pool: MAX kernel_size: 3 stride: 2 } }"
    )
    top, channels = "pool1", 64
    for stage, (width, blocks) in enumerate(STAGES, start=2):
        for block in range(blocks):
            stride = 2 if block == 0 and stage > 2 else 1
            name = f"res{stage}{chr(ord('a') + block)}"
            top = _bottleneck(net, name, top, channels, width, stride)
            channels = width * EXPANSION
    net.raw(
        f'layer {{ name: "pool5" type: "Pooling" bottom: "{top}" top: "pool5"\n'
        "  pooling_param { pool: AVE global_pooling: true } }"
    )
    net.raw(
        'layer { name: "fc1000" type: "InnerProduct" bottom: "pool5" top: "fc1000"\n'
        f"  inner_product_param {{ num_output: {CLASSES} }} }}"
    )
    fc_w = net.rng.normal(0, 0.01, (CLASSES, channels)).astype(np.float32)
    fc_b = np.zeros(CLASSES, np.float32)
    net.weights["fc1000"] = [fc_w, fc_b]
    net.parameters += fc_w.size + fc_b.size
    net.raw('layer { name: "prob" type: "Softmax" bottom: "fc1000" top: "prob" }')
    header = (
        'name: "ResNet-50-random"\ninput: "data"\n'
        f"input_shape {{ dim: 1 dim: 3 dim: {INPUT_SIZE} dim: {INPUT_SIZE} }}\n"
    )
    _write_caffemodel(caffemodel, net.weights)
    prototxt.write_text(header + "\n".join(net.layers) + "\n")
    count_file.write_text(str(net.parameters))
    return prototxt, caffemodel, net.parameters


def _write_caffemodel(path: Path, weights: dict[str, list[np.ndarray]]) -> None:
    """NetParameter with one layer per weighted layer; blobs are spliced in as bytes."""
    parts = [NetParameter(name="ResNet-50-random").SerializeToString()]
    for name, arrays in weights.items():
        layer = NetParameter().layer.add(name=name)
        body = layer.SerializeToString()
        for array in arrays:
            blob = _blob_bytes(array)
            body += _varint(7 << 3 | 2) + _varint(len(blob)) + blob
        parts.append(_varint(100 << 3 | 2) + _varint(len(body)) + body)
    temporary = path.with_suffix(".partial")
    temporary.write_bytes(b"".join(parts))
    temporary.replace(path)


__all__ = ["build_resnet50"]

"""Caffe networks written layer by layer for the conversion tests, with random weights.

:class:`CaffeNet` tracks each blob's shape so it can size the weights of the next layer,
and writes ``deploy.prototxt`` + ``snapshot.caffemodel`` through the builders' protobuf
writer (real files, read by OpenCV as by the converter).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from tests.builders import _write_caffe


def _size(size: int, kernel: int, pad: int, stride: int, ceil: bool = False) -> int:
    span = size + 2 * pad - kernel
    out = (-(-span // stride) if ceil else span // stride) + 1
    if ceil and pad and (out - 1) * stride >= size + pad:
        out -= 1
    return out


class CaffeNet:
    def __init__(self, channels: int, height: int, width: int, seed: int = 0) -> None:
        self.lines = [
            'input: "data"',
            f"input_shape {{ dim: 1 dim: {channels} dim: {height} dim: {width} }}",
        ]
        self.weights: dict[str, list[np.ndarray]] = {}
        self.shapes: dict[str, tuple[int, ...]] = {"data": (channels, height, width)}
        self.rng = np.random.default_rng(seed)

    def layer(
        self,
        name: str,
        kind: str,
        bottoms: list[str],
        params: str = "",
        *,
        tops: list[str] | None = None,
        blobs: list[np.ndarray] | None = None,
        shape: tuple[int, ...] | None = None,
    ) -> str:
        tops = tops or [name]
        text = [f'name: "{name}" type: "{kind}"']
        text += [f'bottom: "{bottom}"' for bottom in bottoms]
        text += [f'top: "{top}"' for top in tops]
        self.lines.append("layer { " + " ".join(text) + f" {params} }}")
        if blobs:
            self.weights[name] = [np.asarray(b, np.float32) for b in blobs]
        for top in tops:
            self.shapes[top] = shape if shape is not None else self.shapes[bottoms[0]]
        return tops[0]

    def normal(self, shape: tuple[int, ...], std: float) -> np.ndarray:
        return self.rng.normal(0, std, shape).astype(np.float32)

    def conv(
        self,
        name: str,
        bottom: str,
        outputs: int,
        kernel: int,
        *,
        stride: int = 1,
        pad: int = 0,
        group: int = 1,
        bias: bool = True,
        dilation: int = 1,
    ) -> str:
        channels, height, width = self.shapes[bottom]
        extent = dilation * (kernel - 1) + 1
        shape = (outputs, _size(height, extent, pad, stride), _size(width, extent, pad, stride))
        std = math.sqrt(2.0 / (channels // group * kernel * kernel))
        blobs = [self.normal((outputs, channels // group, kernel, kernel), std)]
        if bias:
            blobs.append(self.normal((outputs,), 0.1))
        params = (
            f"convolution_param {{ num_output: {outputs} kernel_size: {kernel} stride: {stride} "
            f"pad: {pad} group: {group} dilation: {dilation} bias_term: {str(bias).lower()} }}"
        )
        return self.layer(name, "Convolution", [bottom], params, blobs=blobs, shape=shape)

    def bn_scale_relu(self, name: str, bottom: str) -> str:
        """BatchNorm, Scale and ReLU in place on ``bottom``, as ResNet writes them."""
        channels = self.shapes[bottom][0]
        stats = [
            self.normal((channels,), 0.2) * 3,
            self.rng.uniform(0.5, 2.0, channels) * 3,
            np.array([3.0]),
        ]
        self.layer(f"bn_{name}", "BatchNorm", [bottom], tops=[bottom], blobs=stats)
        factors = [self.rng.uniform(0.5, 1.5, channels), self.normal((channels,), 0.1)]
        params = "scale_param { bias_term: true }"
        self.layer(f"scale_{name}", "Scale", [bottom], params, tops=[bottom], blobs=factors)
        self.layer(f"relu_{name}", "ReLU", [bottom], tops=[bottom])
        return bottom

    def pool(
        self, name: str, bottom: str, method: str, kernel: int, stride: int, pad: int = 0
    ) -> str:
        channels, height, width = self.shapes[bottom]
        shape = (
            channels,
            _size(height, kernel, pad, stride, ceil=True),
            _size(width, kernel, pad, stride, ceil=True),
        )
        params = (
            f"pooling_param {{ pool: {method} kernel_size: {kernel} stride: {stride} pad: {pad} }}"
        )
        return self.layer(name, "Pooling", [bottom], params, shape=shape)

    def global_pool(self, name: str, bottom: str, method: str = "AVE") -> str:
        shape = (self.shapes[bottom][0], 1, 1)
        params = f"pooling_param {{ pool: {method} global_pooling: true }}"
        return self.layer(name, "Pooling", [bottom], params, shape=shape)

    def fc(self, name: str, bottom: str, outputs: int) -> str:
        inputs = math.prod(self.shapes[bottom])
        blobs = [
            self.normal((outputs, inputs), math.sqrt(1.0 / inputs)),
            self.normal((outputs,), 0.1),
        ]
        params = f"inner_product_param {{ num_output: {outputs} }}"
        return self.layer(name, "InnerProduct", [bottom], params, blobs=blobs, shape=(outputs,))

    def concat(self, name: str, bottoms: list[str]) -> str:
        channels = sum(self.shapes[bottom][0] for bottom in bottoms)
        shape = (channels, *self.shapes[bottoms[0]][1:])
        return self.layer(name, "Concat", bottoms, shape=shape)

    def write(self, dest: Path) -> Path:
        _write_caffe(dest, "\n".join(self.lines) + "\n", self.weights, "net")
        return dest

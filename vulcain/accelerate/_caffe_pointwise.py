"""Caffe's element-wise layers in ONNX: activations, Power, BatchNorm, Scale, Bias,
Eltwise, Dropout and Split.

BatchNorm stores its running mean and variance multiplied by a scale factor (its third
blob, 0 meaning 0); a fourth and fifth blob, when NVCaffe stored them, are its own scale
and bias. Scale and Bias broadcast their blob over the axes after ``axis``.
"""

from __future__ import annotations

import numpy as np

from vulcain.accelerate._caffe_layer import LayerContext, converts
from vulcain.accelerate._graph import Value

_PROD, _SUM, _MAX = 0, 1, 2


def _same(ctx: LayerContext, op_type: str, **attributes: object) -> list[Value]:
    x = ctx.one_bottom()
    return [ctx.graph.op(op_type, [x.name], ctx.hint(), x.shape, **attributes)]


@converts("ReLU")
def relu(ctx: LayerContext) -> list[Value]:
    slope = ctx.layer.relu_param.negative_slope
    return _same(ctx, "LeakyRelu", alpha=slope) if slope else _same(ctx, "Relu")


@converts("Sigmoid")
def sigmoid(ctx: LayerContext) -> list[Value]:
    return _same(ctx, "Sigmoid")


@converts("TanH")
def tanh(ctx: LayerContext) -> list[Value]:
    return _same(ctx, "Tanh")


@converts("AbsVal")
def absolute(ctx: LayerContext) -> list[Value]:
    return _same(ctx, "Abs")


@converts("ELU")
def elu(ctx: LayerContext) -> list[Value]:
    return _same(ctx, "Elu", alpha=ctx.layer.elu_param.alpha)


@converts("Dropout")
def dropout(ctx: LayerContext) -> list[Value]:
    """At inference Caffe's Dropout passes its input through unchanged."""
    return _same(ctx, "Identity")


@converts("Split")
def split(ctx: LayerContext) -> list[Value]:
    x = ctx.one_bottom()
    return [
        ctx.graph.op("Identity", [x.name], ctx.hint(index), x.shape)
        for index in range(len(ctx.layer.top))
    ]


@converts("PReLU")
def prelu(ctx: LayerContext) -> list[Value]:
    x = ctx.one_bottom()
    if x.rank < 2:
        raise ctx.fail("is given a blob without channels")
    channels = 1 if ctx.layer.prelu_param.channel_shared else ctx.static(x)[0]
    (slopes,) = ctx.blobs(1, "its slopes")
    shape = (channels,) + (1,) * (x.rank - 2)
    slope = ctx.graph.const(f"{ctx.name}.slope", ctx.sized(slopes, shape, "slopes"))
    return [ctx.graph.op("PRelu", [x.name, slope], ctx.hint(), x.shape)]


@converts("Power")
def power(ctx: LayerContext) -> list[Value]:
    """``(shift + scale * x) ^ power``, each step only where it changes something."""
    x = ctx.one_bottom()
    p = ctx.layer.power_param
    graph, current = ctx.graph, x
    steps = [("Mul", p.scale, 1.0, "scaled"), ("Add", p.shift, 0.0, "shifted")]
    steps.append(("Pow", p.power, 1.0, "powered"))
    for op_type, operand, neutral, label in steps:
        if operand == neutral:
            continue
        constant = graph.const(f"{ctx.name}.{label}", np.array(operand, np.float32))
        current = graph.op(op_type, [current.name, constant], f"{ctx.name}/{label}", x.shape)
    return [graph.op("Identity", [current.name], ctx.hint(), x.shape)]


@converts("BatchNorm")
def batch_norm(ctx: LayerContext) -> list[Value]:
    x = ctx.one_bottom()
    p = ctx.layer.batch_norm_param
    if p.HasField("use_global_stats") and not p.use_global_stats:
        raise ctx.fail("normalises with each batch's own statistics (use_global_stats: false)")
    if x.rank < 2:
        raise ctx.fail("is given a blob without channels")
    channels = ctx.static(x)[0]
    stored = ctx.weights.get(ctx.name, [])
    mean, variance, factor = ctx.blobs(3, "a mean, a variance and a scale factor")
    factor_value = np.float32(ctx.sized(factor, (1,), "scale factor")[0])
    scale = np.float32(0.0) if factor_value == 0 else np.float32(1.0) / factor_value
    arrays = [
        np.ones(channels, np.float32),
        np.zeros(channels, np.float32),
        ctx.sized(mean, (channels,), "mean") * scale,
        ctx.sized(variance, (channels,), "variance") * scale,
    ]
    if len(stored) >= 5:
        arrays[0] = ctx.sized(stored[3], (channels,), "scale")
        arrays[1] = ctx.sized(stored[4], (channels,), "bias")
    labels = ("scale", "bias", "mean", "variance")
    names = [
        ctx.graph.const(f"{ctx.name}.{label}", a) for label, a in zip(labels, arrays, strict=True)
    ]
    return [
        ctx.graph.op(
            "BatchNormalization", [x.name, *names], ctx.hint(), x.shape, epsilon=float(p.eps)
        )
    ]


def _broadcast(ctx: LayerContext, x: Value, axis: int, num_axes: int) -> tuple[int, ...]:
    """The shape a Scale or Bias blob takes to broadcast over ``x`` from ``axis``."""
    axis = ctx.axis(axis, x.rank)
    end = x.rank if num_axes == -1 else axis + num_axes
    if num_axes < -1 or end > x.rank:
        raise ctx.fail(f"covers {num_axes} axes from axis {axis} of a blob of {x.rank} axes")
    covered = tuple(x.dim(index) for index in range(axis, end))
    return covered + (1,) * (x.rank - end)


@converts("Scale")
def scale(ctx: LayerContext) -> list[Value]:
    if len(ctx.bottoms) != 1:
        raise ctx.fail("takes its factors from a second bottom, which holds a batch")
    x = ctx.bottoms[0]
    p = ctx.layer.scale_param
    shape = _broadcast(ctx, x, p.axis, p.num_axes)
    blobs = ctx.blobs(2 if p.bias_term else 1, "factors and a bias" if p.bias_term else "factors")
    graph = ctx.graph
    factors = graph.const(f"{ctx.name}.scale", ctx.sized(blobs[0], shape, "factors"))
    if not p.bias_term:
        return [graph.op("Mul", [x.name, factors], ctx.hint(), x.shape)]
    scaled = graph.op("Mul", [x.name, factors], f"{ctx.name}/scaled", x.shape)
    bias = graph.const(f"{ctx.name}.bias", ctx.sized(blobs[1], shape, "bias"))
    return [graph.op("Add", [scaled.name, bias], ctx.hint(), x.shape)]


@converts("Bias")
def bias(ctx: LayerContext) -> list[Value]:
    if len(ctx.bottoms) != 1:
        raise ctx.fail("takes its bias from a second bottom, which holds a batch")
    x = ctx.bottoms[0]
    p = ctx.layer.bias_param
    shape = _broadcast(ctx, x, p.axis, p.num_axes)
    (blob,) = ctx.blobs(1, "a bias")
    constant = ctx.graph.const(f"{ctx.name}.bias", ctx.sized(blob, shape, "bias"))
    return [ctx.graph.op("Add", [x.name, constant], ctx.hint(), x.shape)]


@converts("Eltwise")
def eltwise(ctx: LayerContext) -> list[Value]:
    p = ctx.layer.eltwise_param
    bottoms = ctx.bottoms
    if not bottoms or any(b.shape != bottoms[0].shape for b in bottoms):
        shapes = ", ".join(str(b.shape[1:]) for b in bottoms)
        raise ctx.fail(f"combines blobs of different shapes ({shapes})")
    shape, graph = bottoms[0].shape, ctx.graph
    if p.operation == _SUM and p.coeff and len(p.coeff) != len(bottoms):
        raise ctx.fail(f"has {len(p.coeff)} coefficients for {len(bottoms)} bottoms")
    terms = [b.name for b in bottoms]
    if p.operation == _SUM and any(c != 1 for c in p.coeff):
        for index, (term, coeff) in enumerate(zip(list(terms), p.coeff, strict=True)):
            if coeff != 1:
                c = graph.const(f"{ctx.name}.coeff{index}", np.array(coeff, np.float32))
                terms[index] = graph.op("Mul", [term, c], f"{ctx.name}/term{index}", shape).name
    if len(terms) == 1:
        return [graph.op("Identity", terms, ctx.hint(), shape)]
    if p.operation == _MAX:
        return [graph.op("Max", terms, ctx.hint(), shape)]
    pairwise = "Mul" if p.operation == _PROD else "Add"
    if p.operation not in (_PROD, _SUM):
        raise ctx.fail(f"has an unknown operation {p.operation}")
    current = terms[0]
    for index, term in enumerate(terms[1:], start=1):
        last = index == len(terms) - 1
        hint = ctx.hint() if last else f"{ctx.name}/partial{index}"
        current = graph.op(pairwise, [current, term], hint, shape).name
    return [Value(current, shape)]

"""Caffe layers that move or combine axes, in ONNX: InnerProduct, Concat, Slice, Flatten,
Reshape, Permute and Softmax.

The batch is the first axis of every blob and is never combined with another: a layer
that would (an axis of 0, a reshape of the batch) has no form that serves any batch size,
and is refused. New shapes are written with ``0`` for the batch, which ONNX's Reshape
copies from its input.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from vulcain.accelerate._caffe_layer import LayerContext, converts
from vulcain.accelerate._graph import Value


def _reshape(ctx: LayerContext, x: Value, dims: tuple[int, ...], hint: str) -> Value:
    target = ctx.graph.shape_const(f"{hint}.shape", (0, *dims))
    return ctx.graph.op("Reshape", [x.name, target], hint, (None, *dims))


@converts("InnerProduct")
def inner_product(ctx: LayerContext) -> list[Value]:
    x = ctx.one_bottom()
    p = ctx.layer.inner_product_param
    axis = ctx.axis(p.axis, x.rank)
    kept = ctx.static(x)[: axis - 1]
    inputs, outputs = math.prod(ctx.static(x)[axis - 1 :]), int(p.num_output)
    bias_term = p.bias_term
    blobs = ctx.blobs(2 if bias_term else 1, "weights and a bias" if bias_term else "weights")
    shape = (inputs, outputs) if p.transpose else (outputs, inputs)
    weights = ctx.sized(blobs[0], shape, "weights")
    graph = ctx.graph
    if axis == 1:
        flat = x if x.rank == 2 else _reshape(ctx, x, (inputs,), f"{ctx.name}/flat")
        names = [flat.name, graph.const(f"{ctx.name}.weight", weights)]
        if bias_term:
            names.append(graph.const(f"{ctx.name}.bias", ctx.sized(blobs[1], (outputs,), "bias")))
        transpose = 0 if p.transpose else 1
        return [graph.op("Gemm", names, ctx.hint(), (None, outputs), transB=transpose)]
    flat = _reshape(ctx, x, (*kept, inputs), f"{ctx.name}/flat")
    matrix = weights if p.transpose else np.ascontiguousarray(weights.T)
    product_shape = (None, *kept, outputs)
    product = graph.op(
        "MatMul",
        [flat.name, graph.const(f"{ctx.name}.weight", matrix)],
        ctx.hint() if not bias_term else f"{ctx.name}/product",
        product_shape,
    )
    if not bias_term:
        return [product]
    bias = graph.const(f"{ctx.name}.bias", ctx.sized(blobs[1], (outputs,), "bias"))
    return [graph.op("Add", [product.name, bias], ctx.hint(), product_shape)]


@converts("Concat")
def concat(ctx: LayerContext) -> list[Value]:
    p = ctx.layer.concat_param
    if not ctx.bottoms:
        raise ctx.fail("has no bottom")
    first = ctx.bottoms[0]
    axis = ctx.axis(int(p.concat_dim) if p.HasField("concat_dim") else p.axis, first.rank)
    for bottom in ctx.bottoms:
        others = [d for i, d in enumerate(bottom.shape) if i != axis]
        if others != [d for i, d in enumerate(first.shape) if i != axis]:
            raise ctx.fail("joins blobs whose other axes differ")
    total = sum(bottom.dim(axis) for bottom in ctx.bottoms)
    shape = (*first.shape[:axis], total, *first.shape[axis + 1 :])
    names = [bottom.name for bottom in ctx.bottoms]
    return [ctx.graph.op("Concat", names, ctx.hint(), shape, axis=axis)]


@converts("Slice")
def slice_(ctx: LayerContext) -> list[Value]:
    x = ctx.one_bottom()
    p = ctx.layer.slice_param
    axis = ctx.axis(int(p.slice_dim) if p.HasField("slice_dim") else p.axis, x.rank)
    size, tops = x.dim(axis), len(ctx.layer.top)
    points = [int(point) for point in p.slice_point]
    if points:
        bounds = [0, *points, size]
        if len(points) != tops - 1 or any(b >= e for b, e in itertools.pairwise(bounds)):
            raise ctx.fail(f"has slice points {points} for {tops} tops along {size}")
        sizes = [e - b for b, e in itertools.pairwise(bounds)]
    else:
        if tops < 1 or size % tops:
            raise ctx.fail(f"cannot split {size} evenly into {tops} tops")
        sizes = [size // tops] * tops
    shapes = [(*x.shape[:axis], s, *x.shape[axis + 1 :]) for s in sizes]
    split = ctx.graph.shape_const(f"{ctx.name}.split", sizes)
    hints = [ctx.hint(index) for index in range(tops)]
    return ctx.graph.op_many("Split", [x.name, split], hints, shapes, axis=axis)


@converts("Flatten")
def flatten(ctx: LayerContext) -> list[Value]:
    x = ctx.one_bottom()
    p = ctx.layer.flatten_param
    start = ctx.axis(p.axis, x.rank)
    end = p.end_axis + x.rank if p.end_axis < 0 else p.end_axis
    if not start <= end < x.rank:
        raise ctx.fail(f"flattens axes {p.axis} to {p.end_axis} of a blob of {x.rank} axes")
    dims = ctx.static(x)
    merged = math.prod(dims[start - 1 : end])
    return [_reshape(ctx, x, (*dims[: start - 1], merged, *dims[end:]), ctx.hint())]


def _reshaped_dims(ctx: LayerContext, x: Value) -> tuple[int, ...]:
    """The dimensions after the batch of Caffe's Reshape of ``x`` (0 copies an input
    dimension, one -1 is inferred)."""
    p = ctx.layer.reshape_param
    rank = x.rank
    start = p.axis + rank + 1 if p.axis < 0 else p.axis
    end = rank if p.num_axes == -1 else start + p.num_axes
    if not 0 <= start <= end <= rank:
        raise ctx.fail(f"reshapes axes {p.axis} (+{p.num_axes}) of a blob of {rank} axes")
    wanted = [int(dim) for dim in p.shape.dim]
    if start == 0 and (not wanted or wanted[0] != 0):
        raise ctx.fail("reshapes the batch axis (its first dim must be 0, copying it)")
    dims: list[int | None] = []
    for index, dim in enumerate(wanted):
        if dim == 0:
            if start + index >= rank:
                raise ctx.fail(f"copies axis {start + index} of a blob of {rank} axes")
            dims.append(x.shape[start + index])
        else:
            dims.append(None if dim == -1 else dim)
    shape = [*x.shape[:start], *dims, *x.shape[end:]]
    body = shape[1:]
    known = math.prod(int(d) for d in body if d is not None)
    total = math.prod(ctx.static(x))
    if body.count(None) > 1 or known == 0 or total % known:
        raise ctx.fail(f"cannot reshape {tuple(x.shape[1:])} to {tuple(wanted)}")
    inferred = total // known
    result = tuple(inferred if d is None else int(d) for d in body)
    if math.prod(result) != total:
        raise ctx.fail(f"cannot reshape {tuple(x.shape[1:])} to {tuple(wanted)}")
    return result


@converts("Reshape")
def reshape(ctx: LayerContext) -> list[Value]:
    x = ctx.one_bottom()
    return [_reshape(ctx, x, _reshaped_dims(ctx, x), ctx.hint())]


@converts("Permute")
def permute(ctx: LayerContext) -> list[Value]:
    x = ctx.one_bottom()
    order = [int(axis) for axis in ctx.layer.permute_param.order]
    order += [axis for axis in range(x.rank) if axis not in order]
    if sorted(order) != list(range(x.rank)):
        raise ctx.fail(f"has the order {order} for a blob of {x.rank} axes")
    if order[0] != 0:
        raise ctx.fail("moves the batch axis")
    shape = tuple(x.shape[axis] for axis in order)
    return [ctx.graph.op("Transpose", [x.name], ctx.hint(), shape, perm=order)]


@converts("Softmax")
def softmax(ctx: LayerContext) -> list[Value]:
    x = ctx.one_bottom()
    axis = ctx.axis(ctx.layer.softmax_param.axis, x.rank)
    return [ctx.graph.op("Softmax", [x.name], ctx.hint(), x.shape, axis=axis)]

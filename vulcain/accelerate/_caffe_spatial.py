"""Caffe's spatial layers in ONNX: Convolution, Deconvolution, Pooling and LRN.

Sizes follow Caffe exactly. Convolutions round output sizes down, as ONNX does. Pooling
rounds up (``ceil_mode``, true unless OpenCV's ``ceil_mode: false``) and then drops a last
window that would start in the right padding; an average divides by the window's cells
inside the padded input (padding counted, the cells beyond it not). ONNX pools round up
differently across versions, so the exact window count is written as explicit end padding
with floor rounding, and the average's divisor is obtained by padding with zeros first and
counting no further padding.
"""

from __future__ import annotations

import numpy as np
from google.protobuf.message import Message

from vulcain.accelerate._caffe_layer import LayerContext, converts
from vulcain.accelerate._graph import Value

_MAX, _AVE = 0, 1
_ACROSS_CHANNELS = 0


def _pair(
    ctx: LayerContext,
    values: list[int],
    default: int | None,
    what: str,
    param: Message | None = None,
    fields: tuple[str, str] = ("", ""),
) -> tuple[int, int]:
    """A 2-D parameter as Caffe reads it: ``param``'s ``fields`` (``*_h``, ``*_w``) when
    either is set, else one repeated value for both axes or one per axis."""
    if param is not None and (param.HasField(fields[0]) or param.HasField(fields[1])):
        return int(getattr(param, fields[0])), int(getattr(param, fields[1]))
    if not values:
        if default is None:
            raise ctx.fail(f"has no {what}")
        return default, default
    if len(values) == 1:
        return int(values[0]), int(values[0])
    if len(values) == 2:
        return int(values[0]), int(values[1])
    raise ctx.fail(f"has {len(values)} {what} values for 2 spatial axes")


def _image(ctx: LayerContext, value: Value) -> tuple[int, int, int]:
    """(channels, height, width) of an N x C x H x W bottom."""
    if value.rank != 4:
        raise ctx.fail(f"is given a blob of {value.rank} axes where N x C x H x W is expected")
    channels, height, width = ctx.static(value)
    return channels, height, width


def _convolution_geometry(ctx: LayerContext) -> dict[str, tuple[int, int]]:
    p = ctx.layer.convolution_param
    if p.axis != 1:
        raise ctx.fail(f"convolves along axis {p.axis}; only the channel axis 1 converts")
    geometry = {
        "kernel": _pair(ctx, list(p.kernel_size), None, "kernel size", p, ("kernel_h", "kernel_w")),
        "pad": _pair(ctx, list(p.pad), 0, "pad", p, ("pad_h", "pad_w")),
        "stride": _pair(ctx, list(p.stride), 1, "stride", p, ("stride_h", "stride_w")),
        "dilation": _pair(ctx, list(p.dilation), 1, "dilation"),
    }
    if min(*geometry["kernel"], *geometry["stride"], *geometry["dilation"]) < 1:
        raise ctx.fail("has a kernel size, stride or dilation below 1")
    return geometry


def _weights(ctx: LayerContext, shape: tuple[int, ...], outputs: int) -> list[str]:
    bias_term = ctx.layer.convolution_param.bias_term
    blobs = ctx.blobs(2 if bias_term else 1, "weights and a bias" if bias_term else "weights")
    names = [ctx.graph.const(f"{ctx.name}.weight", ctx.sized(blobs[0], shape, "weights"))]
    if bias_term:
        names.append(ctx.graph.const(f"{ctx.name}.bias", ctx.sized(blobs[1], (outputs,), "bias")))
    return names


@converts("Convolution", "Deconvolution")
def convolution(ctx: LayerContext) -> list[Value]:
    """Each bottom convolved with the same weights, one top per bottom, as in Caffe."""
    p = ctx.layer.convolution_param
    geometry = _convolution_geometry(ctx)
    kh, kw = geometry["kernel"]
    (ph, pw), (sh, sw), (dh, dw) = geometry["pad"], geometry["stride"], geometry["dilation"]
    if not ctx.bottoms:
        raise ctx.fail("has no bottom")
    channels = _image(ctx, ctx.bottoms[0])[0]
    group, outputs = int(p.group), int(p.num_output)
    if group < 1 or outputs < 1 or channels % group or outputs % group:
        raise ctx.fail(f"has {channels} input and {outputs} output channels in {group} groups")
    transposed = ctx.layer.type == "Deconvolution"
    shape = (
        (channels, outputs // group, kh, kw) if transposed else (outputs, channels // group, kh, kw)
    )
    weights = _weights(ctx, shape, outputs)
    tops = []
    for index, bottom in enumerate(ctx.bottoms):
        bottom_channels, height, width = _image(ctx, bottom)
        if bottom_channels != channels:
            raise ctx.fail("is given bottoms of different channel counts")
        extent_h, extent_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
        if transposed:
            out_h = sh * (height - 1) + extent_h - 2 * ph
            out_w = sw * (width - 1) + extent_w - 2 * pw
        else:
            out_h = (height + 2 * ph - extent_h) // sh + 1
            out_w = (width + 2 * pw - extent_w) // sw + 1
        if out_h < 1 or out_w < 1:
            raise ctx.fail(f"leaves no output on a {height}x{width} input")
        tops.append(
            ctx.graph.op(
                "ConvTranspose" if transposed else "Conv",
                [bottom.name, *weights],
                ctx.hint(index),
                (None, outputs, out_h, out_w),
                kernel_shape=[kh, kw],
                pads=[ph, pw, ph, pw],
                strides=[sh, sw],
                dilations=[dh, dw],
                group=group,
            )
        )
    return tops


def pooled_size(size: int, kernel: int, pad: int, stride: int, ceil: bool, padded: bool) -> int:
    """Caffe's number of pooling windows along one axis (``padded``: some pad is set)."""
    span = size + 2 * pad - kernel
    out = (-(-span // stride) if ceil else span // stride) + 1
    if padded and (out - 1) * stride >= size + pad:
        out -= 1  # the last window would start in the padding
    return out


@converts("Pooling")
def pooling(ctx: LayerContext) -> list[Value]:
    x = ctx.one_bottom()
    channels, height, width = _image(ctx, x)
    p = ctx.layer.pooling_param
    if p.pool not in (_MAX, _AVE):
        raise ctx.fail("pools stochastically, which has no ONNX form")
    if p.global_pooling:
        op_type = "GlobalMaxPool" if p.pool == _MAX else "GlobalAveragePool"
        return [ctx.graph.op(op_type, [x.name], ctx.hint(), (None, channels, 1, 1))]
    kernel = _pair(ctx, list(p.kernel_size), None, "kernel size", p, ("kernel_h", "kernel_w"))
    pad = _pair(ctx, list(p.pad), 0, "pad", p, ("pad_h", "pad_w"))
    stride = _pair(ctx, list(p.stride), 1, "stride", p, ("stride_h", "stride_w"))
    if min(*kernel, *stride) < 1 or pad[0] >= kernel[0] or pad[1] >= kernel[1]:
        raise ctx.fail("has a kernel or stride below 1, or a pad not smaller than its kernel")
    padded = bool(pad[0] or pad[1])
    sizes = (height, width)
    outs = [
        pooled_size(sizes[i], kernel[i], pad[i], stride[i], p.ceil_mode, padded) for i in (0, 1)
    ]
    if min(outs) < 1:
        raise ctx.fail(f"leaves no output on a {height}x{width} input")
    shape = (None, channels, *outs)
    # End padding so that floor rounding gives Caffe's window count.
    ends = [max(0, (outs[i] - 1) * stride[i] + kernel[i] - sizes[i] - pad[i]) for i in (0, 1)]
    attributes = {"kernel_shape": list(kernel), "strides": list(stride)}
    if p.pool == _MAX:
        pads = [pad[0], pad[1], *ends]
        return [ctx.graph.op("MaxPool", [x.name], ctx.hint(), shape, pads=pads, **attributes)]
    source = x.name
    if padded:
        zeros = ctx.graph.shape_const(f"{ctx.name}.pads", [0, 0, pad[0], pad[1]] * 2)
        padded_shape = (None, channels, height + 2 * pad[0], width + 2 * pad[1])
        source = ctx.graph.op("Pad", [x.name, zeros], f"{ctx.name}/padded", padded_shape).name
        ends = [max(0, ends[i] - pad[i]) for i in (0, 1)]
    pads = [0, 0, *ends]
    return [
        ctx.graph.op(
            "AveragePool", [source], ctx.hint(), shape, pads=pads, count_include_pad=0, **attributes
        )
    ]


@converts("LRN")
def lrn(ctx: LayerContext) -> list[Value]:
    """Across channels, ONNX's LRN is Caffe's formula. Within a channel, Caffe computes
    ``x * (1 + alpha * mean of x^2 over the n x n window)^-beta``, padding counted in the
    mean and the shift 1 whatever ``k`` says."""
    x = ctx.one_bottom()
    p = ctx.layer.lrn_param
    size = int(p.local_size)
    if size < 1 or size % 2 == 0:
        raise ctx.fail(f"has an even local_size {size}; Caffe takes odd sizes only")
    if p.norm_region == _ACROSS_CHANNELS:
        attributes = {"size": size, "alpha": p.alpha, "beta": p.beta, "bias": p.k}
        return [ctx.graph.op("LRN", [x.name], ctx.hint(), x.shape, **attributes)]
    _image(ctx, x)
    half = (size - 1) // 2
    graph = ctx.graph
    squared = graph.op("Mul", [x.name, x.name], f"{ctx.name}/squared", x.shape)
    mean = graph.op(
        "AveragePool",
        [squared.name],
        f"{ctx.name}/mean",
        x.shape,
        kernel_shape=[size, size],
        pads=[half] * 4,
        count_include_pad=1,
    )
    alpha = graph.const(f"{ctx.name}.alpha", np.array(p.alpha, np.float32))
    one = graph.const(f"{ctx.name}.one", np.array(1.0, np.float32))
    power = graph.const(f"{ctx.name}.power", np.array(-p.beta, np.float32))
    scaled = graph.op("Mul", [mean.name, alpha], f"{ctx.name}/scaled", x.shape)
    shifted = graph.op("Add", [scaled.name, one], f"{ctx.name}/shifted", x.shape)
    factor = graph.op("Pow", [shifted.name, power], f"{ctx.name}/factor", x.shape)
    return [graph.op("Mul", [x.name, factor.name], ctx.hint(), x.shape)]

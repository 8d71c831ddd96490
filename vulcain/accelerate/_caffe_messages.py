"""The layer parameters of ``caffe.proto`` the Caffe converter reads, in a pool of their own.

:mod:`vulcain.caffe_proto` declares only what the rest of Vulcain needs, and the reference
runtime parses prototxt files with it: declaring every layer parameter there would make a
prototxt that OpenCV accepts fail to parse here over a field the converter may not even
use. So the converter parses the files a second time with these richer messages, and a
file they cannot read only means "no ONNX form" (the reference runtime still serves).

Field numbers and defaults are BVLC's ``caffe.proto`` (``ceil_mode`` is OpenCV's, from
BVLC pull request 3057; ``permute_param`` is SSD's). Only fields the converter uses are
declared: any other is skipped when parsing text and kept as unknown when parsing binary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from google.protobuf import descriptor_pb2

from vulcain.caffe_proto import MESSAGE_FIELDS, FieldSpec, message_classes

_F = descriptor_pb2.FieldDescriptorProto
_OPT = _F.LABEL_OPTIONAL
_REP = _F.LABEL_REPEATED
_U = _F.TYPE_UINT64
_I = _F.TYPE_INT64
_FLOAT = _F.TYPE_FLOAT
_BOOL = _F.TYPE_BOOL
_MSG = _F.TYPE_MESSAGE
_ENUM = _F.TYPE_ENUM


def _f(name: str, number: int, type_: int, type_name: str = "", label: int = _OPT) -> FieldSpec:
    return (name, number, label, type_, type_name, False)


_PARAMS: dict[str, list[FieldSpec]] = {
    "ConvolutionParameter": [
        _f("num_output", 1, _U),
        _f("bias_term", 2, _BOOL),
        _f("pad", 3, _U, label=_REP),
        _f("kernel_size", 4, _U, label=_REP),
        _f("stride", 6, _U, label=_REP),
        _f("dilation", 18, _U, label=_REP),
        _f("pad_h", 9, _U),
        _f("pad_w", 10, _U),
        _f("kernel_h", 11, _U),
        _f("kernel_w", 12, _U),
        _f("stride_h", 13, _U),
        _f("stride_w", 14, _U),
        _f("group", 5, _U),
        _f("axis", 16, _I),
    ],
    "PoolingParameter": [
        _f("pool", 1, _ENUM, ".caffe.PoolingParameter.PoolMethod"),
        _f("pad", 4, _U, label=_REP),
        _f("pad_h", 9, _U),
        _f("pad_w", 10, _U),
        _f("kernel_size", 2, _U, label=_REP),
        _f("kernel_h", 5, _U),
        _f("kernel_w", 6, _U),
        _f("stride", 3, _U, label=_REP),
        _f("stride_h", 7, _U),
        _f("stride_w", 8, _U),
        _f("global_pooling", 12, _BOOL),
        _f("ceil_mode", 13, _BOOL),
    ],
    "InnerProductParameter": [
        _f("num_output", 1, _U),
        _f("bias_term", 2, _BOOL),
        _f("axis", 5, _I),
        _f("transpose", 6, _BOOL),
    ],
    "ReLUParameter": [_f("negative_slope", 1, _FLOAT)],
    "PReLUParameter": [_f("channel_shared", 2, _BOOL)],
    "ELUParameter": [_f("alpha", 1, _FLOAT)],
    "PowerParameter": [_f("power", 1, _FLOAT), _f("scale", 2, _FLOAT), _f("shift", 3, _FLOAT)],
    "BatchNormParameter": [_f("use_global_stats", 1, _BOOL), _f("eps", 3, _FLOAT)],
    "ScaleParameter": [
        _f("axis", 1, _I),
        _f("num_axes", 2, _I),
        _f("bias_term", 4, _BOOL),
    ],
    "BiasParameter": [_f("axis", 1, _I), _f("num_axes", 2, _I)],
    "EltwiseParameter": [
        _f("operation", 1, _ENUM, ".caffe.EltwiseParameter.EltwiseOp"),
        _f("coeff", 2, _FLOAT, label=_REP),
    ],
    "ConcatParameter": [_f("axis", 2, _I), _f("concat_dim", 1, _U)],
    "SliceParameter": [
        _f("axis", 3, _I),
        _f("slice_point", 2, _U, label=_REP),
        _f("slice_dim", 1, _U),
    ],
    "FlattenParameter": [_f("axis", 1, _I), _f("end_axis", 2, _I)],
    "ReshapeParameter": [
        _f("shape", 1, _MSG, ".caffe.BlobShape"),
        _f("axis", 2, _I),
        _f("num_axes", 3, _I),
    ],
    "PermuteParameter": [_f("order", 1, _U, label=_REP)],
    "SoftmaxParameter": [_f("axis", 2, _I)],
    "LRNParameter": [
        _f("local_size", 1, _U),
        _f("alpha", 2, _FLOAT),
        _f("beta", 3, _FLOAT),
        _f("norm_region", 4, _ENUM, ".caffe.LRNParameter.NormRegion"),
        _f("k", 5, _FLOAT),
    ],
    "NetStateRule": [_f("phase", 1, _ENUM, ".caffe.Phase")],
    "V1LayerParameter": [
        _f("name", 4, _F.TYPE_STRING),
        _f("blobs", 6, _MSG, ".caffe.BlobProto", _REP),
    ],
}

_LAYER_PARAMS = {
    "convolution_param": (106, "ConvolutionParameter"),
    "pooling_param": (121, "PoolingParameter"),
    "inner_product_param": (117, "InnerProductParameter"),
    "relu_param": (123, "ReLUParameter"),
    "prelu_param": (131, "PReLUParameter"),
    "elu_param": (140, "ELUParameter"),
    "power_param": (122, "PowerParameter"),
    "batch_norm_param": (139, "BatchNormParameter"),
    "scale_param": (142, "ScaleParameter"),
    "bias_param": (141, "BiasParameter"),
    "eltwise_param": (110, "EltwiseParameter"),
    "concat_param": (104, "ConcatParameter"),
    "slice_param": (126, "SliceParameter"),
    "flatten_param": (135, "FlattenParameter"),
    "reshape_param": (133, "ReshapeParameter"),
    "permute_param": (202, "PermuteParameter"),
    "softmax_param": (125, "SoftmaxParameter"),
    "lrn_param": (118, "LRNParameter"),
    "include": (8, "NetStateRule"),
    "exclude": (9, "NetStateRule"),
}

_ENUMS = {
    "PoolingParameter": {"PoolMethod": [("MAX", 0), ("AVE", 1), ("STOCHASTIC", 2)]},
    "EltwiseParameter": {"EltwiseOp": [("PROD", 0), ("SUM", 1), ("MAX", 2)]},
    "LRNParameter": {"NormRegion": [("ACROSS_CHANNELS", 0), ("WITHIN_CHANNEL", 1)]},
}

_DEFAULTS = {
    ("ConvolutionParameter", "bias_term"): "true",
    ("ConvolutionParameter", "group"): "1",
    ("ConvolutionParameter", "axis"): "1",
    ("PoolingParameter", "ceil_mode"): "true",
    ("InnerProductParameter", "bias_term"): "true",
    ("InnerProductParameter", "axis"): "1",
    ("ELUParameter", "alpha"): "1",
    ("PowerParameter", "power"): "1",
    ("PowerParameter", "scale"): "1",
    ("BatchNormParameter", "eps"): "1e-05",
    ("ScaleParameter", "axis"): "1",
    ("ScaleParameter", "num_axes"): "1",
    ("BiasParameter", "axis"): "1",
    ("BiasParameter", "num_axes"): "1",
    ("EltwiseParameter", "operation"): "SUM",
    ("ConcatParameter", "axis"): "1",
    ("ConcatParameter", "concat_dim"): "1",
    ("SliceParameter", "axis"): "1",
    ("SliceParameter", "slice_dim"): "1",
    ("FlattenParameter", "axis"): "1",
    ("FlattenParameter", "end_axis"): "-1",
    ("ReshapeParameter", "num_axes"): "-1",
    ("SoftmaxParameter", "axis"): "1",
    ("LRNParameter", "local_size"): "5",
    ("LRNParameter", "alpha"): "1",
    ("LRNParameter", "beta"): "0.75",
    ("LRNParameter", "k"): "1",
}


def _messages() -> dict[str, list[FieldSpec]]:
    messages = {name: list(fields) for name, fields in MESSAGE_FIELDS.items()}
    messages.update(_PARAMS)
    for field, (number, message) in _LAYER_PARAMS.items():
        label = _REP if field in ("include", "exclude") else _OPT
        messages["LayerParameter"].append(_f(field, number, _MSG, f".caffe.{message}", label))
    messages["NetParameter"].append(_f("layers", 2, _MSG, ".caffe.V1LayerParameter", _REP))
    return messages


_CLASSES = message_classes("vulcain/caffe_layers.proto", _messages(), _ENUMS, _DEFAULTS)
if TYPE_CHECKING:
    # Built at run time (see vulcain.caffe_proto): to a type checker each class is ``Any``.
    NetParameter: TypeAlias = Any
    LayerParameter: TypeAlias = Any
    BlobProto: TypeAlias = Any
else:
    NetParameter = _CLASSES["NetParameter"]
    LayerParameter = _CLASSES["LayerParameter"]
    BlobProto = _CLASSES["BlobProto"]

__all__ = ["BlobProto", "LayerParameter", "NetParameter"]

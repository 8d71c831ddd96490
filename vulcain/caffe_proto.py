"""The few Caffe protobuf messages Vulcain reads and writes, with no Caffe install.

The messages are built at import time from a ``FileDescriptorProto`` whose field numbers
are exactly those of BVLC's ``caffe.proto``, so that files written with them are read by
OpenCV's Caffe importer and real ``.caffemodel`` / ``.binaryproto`` files parse with them.
Only the fields Vulcain needs are declared; anything else in a file is kept as unknown
fields when parsing binary data and may be skipped when parsing text
(``text_format.Parse(..., allow_unknown_field=True)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_OPTIONAL = _F.LABEL_OPTIONAL
_REPEATED = _F.LABEL_REPEATED

# (name, number, label, type, type_name or "", packed)
_FieldSpec = tuple[str, int, int, int, str, bool]
FieldSpec = _FieldSpec

_MESSAGES: dict[str, list[_FieldSpec]] = {
    "BlobShape": [("dim", 1, _REPEATED, _F.TYPE_INT64, "", True)],
    "BlobProto": [
        ("shape", 7, _OPTIONAL, _F.TYPE_MESSAGE, ".caffe.BlobShape", False),
        ("data", 5, _REPEATED, _F.TYPE_FLOAT, "", True),
        ("diff", 6, _REPEATED, _F.TYPE_FLOAT, "", True),
        ("double_data", 8, _REPEATED, _F.TYPE_DOUBLE, "", True),
        ("double_diff", 9, _REPEATED, _F.TYPE_DOUBLE, "", True),
        ("num", 1, _OPTIONAL, _F.TYPE_INT32, "", False),
        ("channels", 2, _OPTIONAL, _F.TYPE_INT32, "", False),
        ("height", 3, _OPTIONAL, _F.TYPE_INT32, "", False),
        ("width", 4, _OPTIONAL, _F.TYPE_INT32, "", False),
    ],
    "BlobProtoArray": [("blobs", 1, _REPEATED, _F.TYPE_MESSAGE, ".caffe.BlobProto", False)],
    "InputParameter": [("shape", 1, _REPEATED, _F.TYPE_MESSAGE, ".caffe.BlobShape", False)],
    "PythonParameter": [
        ("module", 1, _OPTIONAL, _F.TYPE_STRING, "", False),
        ("layer", 2, _OPTIONAL, _F.TYPE_STRING, "", False),
        ("param_str", 3, _OPTIONAL, _F.TYPE_STRING, "", False),
        ("share_in_parallel", 4, _OPTIONAL, _F.TYPE_BOOL, "", False),
    ],
    "LayerParameter": [
        ("name", 1, _OPTIONAL, _F.TYPE_STRING, "", False),
        ("type", 2, _OPTIONAL, _F.TYPE_STRING, "", False),
        ("bottom", 3, _REPEATED, _F.TYPE_STRING, "", False),
        ("top", 4, _REPEATED, _F.TYPE_STRING, "", False),
        ("phase", 10, _OPTIONAL, _F.TYPE_ENUM, ".caffe.Phase", False),
        ("blobs", 7, _REPEATED, _F.TYPE_MESSAGE, ".caffe.BlobProto", False),
        ("python_param", 130, _OPTIONAL, _F.TYPE_MESSAGE, ".caffe.PythonParameter", False),
        ("input_param", 143, _OPTIONAL, _F.TYPE_MESSAGE, ".caffe.InputParameter", False),
    ],
    "NetParameter": [
        ("name", 1, _OPTIONAL, _F.TYPE_STRING, "", False),
        ("input", 3, _REPEATED, _F.TYPE_STRING, "", False),
        ("input_shape", 8, _REPEATED, _F.TYPE_MESSAGE, ".caffe.BlobShape", False),
        ("input_dim", 4, _REPEATED, _F.TYPE_INT32, "", False),
        ("layer", 100, _REPEATED, _F.TYPE_MESSAGE, ".caffe.LayerParameter", False),
    ],
}


EnumSpec = list[tuple[str, int]]
"""(value name, number) of an enum nested in a message."""


def _file_descriptor(
    file_name: str,
    messages: Mapping[str, list[_FieldSpec]],
    nested_enums: Mapping[str, Mapping[str, EnumSpec]],
    defaults: Mapping[tuple[str, str], str],
) -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(name=file_name, package="caffe", syntax="proto2")
    phase = proto.enum_type.add(name="Phase")
    phase.value.add(name="TRAIN", number=0)
    phase.value.add(name="TEST", number=1)
    for message_name, fields in messages.items():
        message = proto.message_type.add(name=message_name)
        for enum_name, values in nested_enums.get(message_name, {}).items():
            enum = message.enum_type.add(name=enum_name)
            for value_name, number in values:
                enum.value.add(name=value_name, number=number)
        for name, number, label, type_, type_name, packed in fields:
            field = message.field.add(name=name, number=number, label=label, type=type_)
            if type_name:
                field.type_name = type_name
            if (message_name, name) in defaults:
                field.default_value = defaults[message_name, name]
            if packed:
                field.options.packed = True
    return proto


def message_classes(
    file_name: str,
    messages: Mapping[str, list[_FieldSpec]],
    nested_enums: Mapping[str, Mapping[str, EnumSpec]] | None = None,
    defaults: Mapping[tuple[str, str], str] | None = None,
) -> dict[str, type]:
    """Message classes of package ``caffe`` built in a pool of their own, so a module may
    declare more of ``caffe.proto`` (extending :data:`MESSAGE_FIELDS`) without changing
    how the messages here parse. ``defaults`` are proto2 default values by (message, field),
    written as in a ``.proto`` file."""
    pool = descriptor_pool.DescriptorPool()
    pool.Add(_file_descriptor(file_name, messages, nested_enums or {}, defaults or {}))
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"caffe.{name}"))
        for name in messages
    }


MESSAGE_FIELDS: Mapping[str, list[_FieldSpec]] = _MESSAGES
"""The fields declared here, by message: a base for a pool declaring more."""
_CLASSES = message_classes("vulcain/caffe.proto", _MESSAGES)


def _message_class(name: str) -> type:
    return _CLASSES[name]


if TYPE_CHECKING:
    # Built at run time from descriptors, these classes have fields no type checker can
    # see (there is no generated code to read): to a checker each of them is ``Any``.
    BlobShape: TypeAlias = Any
    BlobProto: TypeAlias = Any
    BlobProtoArray: TypeAlias = Any
    InputParameter: TypeAlias = Any
    PythonParameter: TypeAlias = Any
    LayerParameter: TypeAlias = Any
    NetParameter: TypeAlias = Any
else:
    BlobShape = _message_class("BlobShape")
    BlobProto = _message_class("BlobProto")
    BlobProtoArray = _message_class("BlobProtoArray")
    InputParameter = _message_class("InputParameter")
    PythonParameter = _message_class("PythonParameter")
    LayerParameter = _message_class("LayerParameter")
    NetParameter = _message_class("NetParameter")

TRAIN = 0
TEST = 1

__all__ = [
    "TEST",
    "TRAIN",
    "BlobProto",
    "BlobProtoArray",
    "BlobShape",
    "InputParameter",
    "LayerParameter",
    "NetParameter",
    "PythonParameter",
]

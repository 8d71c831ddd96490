"""The Open Inference Protocol's infer bodies, with Triton's binary tensor extension.

A body is a JSON header, optionally followed by raw tensor bytes: the
``Inference-Header-Content-Length`` header says how long the JSON is, and each tensor
carried in binary says how many of the following bytes are its own
(``parameters.binary_data_size``), in the order of ``inputs`` (or ``outputs``). Raw
``BYTES`` elements are each a 4-byte little-endian length and the bytes; numeric tensors
are little-endian, row-major.

Two kinds of input reach a network here: ``BYTES`` tensors holding encoded images (one per
batch item, preprocessed by the network), and ``FP32`` tensors fed as they are.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pybase64
from pydantic import ValidationError

from vulcain.api.v2.models import InferRequest, RequestInput
from vulcain.api.validation import describe
from vulcain.errors import BadRequest

HEADER_LENGTH = "inference-header-content-length"
BYTES, FP32 = "BYTES", "FP32"

DATATYPES: dict[str, str] = {
    "bool": "BOOL",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "float16": "FP16",
    "float32": "FP32",
    "float64": "FP64",
}
"""The protocol's datatype of each numpy dtype a network may give."""


@dataclass
class DecodedInfer:
    """An infer request: images (``BYTES``) or tensors (``FP32``) by input name, the
    output names asked for, and which of them go back in binary."""

    request: InferRequest
    images: dict[str, list[str | bytes]] = field(default_factory=dict)
    tensors: dict[str, np.ndarray] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    binary_outputs: set[str] = field(default_factory=set)
    all_binary: bool = False

    def binary(self, name: str) -> bool:
        return self.all_binary or name in self.binary_outputs


def split_body(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """The JSON header and the binary data after it."""
    if header_length is None:
        return body, b""
    try:
        length = int(header_length)
    except ValueError:
        raise BadRequest(
            f"Inference-Header-Content-Length: {header_length!r} is not a number of bytes."
        ) from None
    if not 0 <= length <= len(body):
        raise BadRequest(
            f"Inference-Header-Content-Length: {length} is not within the body's {len(body)} bytes."
        )
    return body[:length], body[length:]


def decode_infer(body: bytes, header_length: str | None) -> DecodedInfer:
    """Read an infer request; :class:`BadRequest` says what is wrong with it."""
    header, binary = split_body(body, header_length)
    try:
        document = orjson.loads(header) if header.strip() else {}
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"The JSON of the request is not valid: {error.msg}.") from None
    try:
        request = InferRequest.model_validate(document)
    except ValidationError as error:
        sentence, fields = describe(error.errors())
        raise BadRequest(sentence, fields=fields) from None
    decoded = DecodedInfer(request)
    chunks = _binary_chunks(request, binary)
    for index, entry in enumerate(request.inputs):
        chunk = chunks.get(index)
        if entry.name in decoded.images or entry.name in decoded.tensors:
            raise BadRequest(f"inputs[{index}]: {entry.name!r} is given twice; send it once.")
        if entry.datatype == BYTES:
            decoded.images[entry.name] = _images(entry, index, chunk)
        elif entry.datatype == FP32:
            decoded.tensors[entry.name] = _fp32(entry, index, chunk)
        else:
            raise BadRequest(
                f"inputs[{index}].datatype: {entry.datatype} is not taken; send BYTES "
                "(encoded images, preprocessed by the network) or FP32 (tensors already "
                "preprocessed, fed as they are)."
            )
    if decoded.images and decoded.tensors:
        raise BadRequest(
            "inputs: send either BYTES images for every input or FP32 tensors for every "
            "input, not both in one request."
        )
    parameters = request.parameters or {}
    decoded.all_binary = bool(parameters.get("binary_data_output", False))
    for output in request.outputs or ():
        decoded.outputs.append(output.name)
        if (output.parameters or {}).get("binary_data", False):
            decoded.binary_outputs.add(output.name)
    return decoded


def _binary_chunks(request: InferRequest, binary: bytes) -> dict[int, bytes]:
    chunks: dict[int, bytes] = {}
    offset = 0
    for index, entry in enumerate(request.inputs):
        size = (entry.parameters or {}).get("binary_data_size")
        if size is None:
            continue
        if not isinstance(size, int) or size < 0:
            raise BadRequest(f"inputs[{index}].parameters.binary_data_size: must be an integer.")
        if offset + size > len(binary):
            raise BadRequest(
                f"inputs[{index}]: binary_data_size {size} runs past the end of the body's "
                f"{len(binary)} binary bytes."
            )
        chunks[index] = binary[offset : offset + size]
        offset += size
    if offset != len(binary):
        raise BadRequest(
            f"The body holds {len(binary)} bytes after its JSON, but the inputs' "
            f"binary_data_size add up to {offset}."
        )
    return chunks


def _count(entry: RequestInput, index: int) -> int:
    if any(side < 0 for side in entry.shape):
        raise BadRequest(f"inputs[{index}].shape: {entry.shape} has a negative side.")
    return math.prod(entry.shape)


def _images(entry: RequestInput, index: int, chunk: bytes | None) -> list[str | bytes]:
    count = _count(entry, index)
    if count != (entry.shape[0] if entry.shape else 1):
        raise BadRequest(
            f"inputs[{index}].shape: {entry.shape} holds {count} elements; a BYTES input "
            "holds one encoded image per batch item: shape [N] or [N, 1]."
        )
    if chunk is not None:
        elements: list[str | bytes] = list(_length_prefixed(chunk, index))
    else:
        elements = list(_flatten(entry.data, index))
        if (entry.parameters or {}).get("content_type") == "base64":
            elements = [_base64(element, index) for element in elements]
        elif not all(isinstance(element, str) for element in elements):
            raise BadRequest(
                f"inputs[{index}].data: BYTES elements in JSON are strings: an image URL, "
                'a data:image/... URI, or base64 with parameters {"content_type": "base64"}.'
            )
    if len(elements) != count:
        raise BadRequest(
            f"inputs[{index}]: shape {entry.shape} holds {count} elements, the data "
            f"{len(elements)}."
        )
    return elements


def _base64(element: object, index: int) -> bytes:
    try:
        return pybase64.b64decode(str(element), validate=True)
    except ValueError:
        raise BadRequest(f"inputs[{index}].data: an element is not valid base64.") from None


def _length_prefixed(chunk: bytes, index: int) -> Iterator[bytes]:
    offset = 0
    while offset < len(chunk):
        if offset + 4 > len(chunk):
            raise BadRequest(f"inputs[{index}]: the binary BYTES data ends inside a length.")
        (length,) = struct.unpack_from("<I", chunk, offset)
        offset += 4
        if offset + length > len(chunk):
            raise BadRequest(f"inputs[{index}]: a binary BYTES element runs past its data.")
        yield chunk[offset : offset + length]
        offset += length


def _flatten(data: Any, index: int) -> Iterator[Any]:
    if data is None:
        raise BadRequest(
            f"inputs[{index}]: no data; send it as data, or in binary with "
            "parameters.binary_data_size."
        )
    if isinstance(data, list):
        for item in data:
            yield from _flatten(item, index)
    else:
        yield data


def _fp32(entry: RequestInput, index: int, chunk: bytes | None) -> np.ndarray:
    count = _count(entry, index)
    if chunk is not None:
        if len(chunk) != count * 4:
            raise BadRequest(
                f"inputs[{index}]: shape {entry.shape} takes {count * 4} bytes of FP32, the "
                f"binary data has {len(chunk)}."
            )
        # a copy: the runtimes are handed writable arrays, as preprocessing makes them
        return np.frombuffer(chunk, dtype="<f4").astype(np.float32).reshape(entry.shape)
    try:
        values = np.asarray(list(_flatten(entry.data, index)), dtype=np.float32)
    except (TypeError, ValueError):
        raise BadRequest(f"inputs[{index}].data: FP32 data must be numbers.") from None
    if values.size != count:
        raise BadRequest(
            f"inputs[{index}]: shape {entry.shape} holds {count} elements, the data {values.size}."
        )
    return values.reshape(entry.shape)


def encode_infer(
    model_name: str, request: DecodedInfer, outputs: Mapping[str, np.ndarray]
) -> tuple[bytes, int | None]:
    """The response body and, when tensors follow the JSON in binary, its JSON length."""
    described: list[dict[str, Any]] = []
    binaries: list[bytes] = []
    for name, array in outputs.items():
        datatype = DATATYPES.get(array.dtype.name)
        if datatype is None:
            raise BadRequest(f"Output {name!r} is of type {array.dtype}, which has no datatype.")
        output: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        if request.binary(name):
            raw = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
            output["parameters"] = {"binary_data_size": len(raw)}
            binaries.append(raw)
        else:
            output["data"] = np.ascontiguousarray(array).reshape(-1)
        described.append(output)
    document: dict[str, Any] = {"model_name": model_name, "model_version": "1"}
    if request.request.id is not None:
        document["id"] = request.request.id
    document["outputs"] = described
    header = orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)
    if not binaries:
        return header, None
    return header + b"".join(binaries), len(header)

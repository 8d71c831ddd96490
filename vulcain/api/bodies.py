"""Request bodies: three encodings, one meaning (docs/api.md, "Request bodies").

Everything here is pure: it takes what the HTTP layer read (a JSON document, the parts of a
form) and returns plain data shaped for a pydantic model, plus the network files.

1. ``application/json``: the document as is.
2. Multipart where a structured field is one part holding JSON (``-F preprocessing='{...}'``).
3. Multipart or form-urlencoded with flattened keys (``preprocessing.inputs[0]tensor_name``),
   possibly repeated (``output_tensors=prob&output_tensors=pool5``), scalars as text
   (``True``, ``255.0``).

:func:`shape` then walks the target model's annotations: a JSON string where an object or a
list is expected is parsed, one value where a list is expected becomes a list of one, a file
part where bytes are expected is read (at most ``max_file_bytes``). Scalar text is left to
pydantic's lax coercion (``"True"`` -> ``True``, ``"255.0"`` -> ``255.0``).
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Literal, Union, get_args, get_origin
from urllib.parse import unquote_to_bytes

import orjson
from pydantic import BaseModel

from vulcain.api._flat_keys import Segment, format_path, parse_key, unflatten
from vulcain.errors import BadRequest, PayloadTooLarge


@dataclass(frozen=True)
class FilePart:
    """A multipart part that came with a ``filename``: its content stays in ``file``."""

    file: IO[bytes]
    filename: str | None = None


PartValue = str | bytes | FilePart


@dataclass
class DecodedBody:
    """The fields of a request, nested, and the network files by name."""

    data: dict[str, Any]
    files: dict[str, IO[bytes]] = field(default_factory=dict)


def parse_json_document(raw: bytes) -> dict[str, Any]:
    """A JSON body, which must be an object; an empty body is an empty object."""
    if not raw.strip():
        return {}
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        if "UTF-8" in error.msg:
            raise BadRequest("The JSON body is not UTF-8 text.") from None
        raise BadRequest(f"The body is not valid JSON: {_json_problem(error)}.") from None
    if not isinstance(document, dict):
        raise BadRequest('The JSON body must be an object, e.g. {"name": ...}.')
    return document


JSON_MAX_NESTING = 1024
"""Deepest nesting orjson parses; deeper JSON is refused before it costs anything."""


def _json_problem(error: orjson.JSONDecodeError) -> str:
    where = f"at line {error.lineno} column {error.colno}"
    if "depth limit" in error.msg:
        return f"it nests more than {JSON_MAX_NESTING} levels deep ({where})"
    if "infinity" in error.msg or error.doc[error.pos : error.pos + 3] in ("NaN", "Inf"):
        return f"NaN and Infinity are not JSON numbers ({where}); send finite numbers"
    return f"{error.msg} {where}"


def parse_urlencoded(raw: bytes) -> list[tuple[str, str | bytes]]:
    """Pairs of an ``application/x-www-form-urlencoded`` body, decoded once.

    Done here rather than by the form parser so that a ``data:...;binary,`` value keeps its
    bytes (percent-encoding is how that scheme carries them) and a ``data:...;base64,``
    value sent unencoded by ``curl -d`` gets its ``+`` back (form decoding turns it into a
    space, a character base64 never holds).
    """
    pairs: list[tuple[str, str | bytes]] = []
    for chunk in raw.split(b"&"):
        if not chunk:
            continue
        raw_name, _, raw_value = chunk.partition(b"=")
        name = _text(unquote_to_bytes(raw_name.replace(b"+", b" ")), "a form field name")
        value = unquote_to_bytes(raw_value.replace(b"+", b" "))
        pairs.append((name, _data_uri_value(value, name)))
    return pairs


def _data_uri_value(value: bytes, name: str) -> str | bytes:
    header, comma, payload = value.partition(b",")
    if value[:5].lower() == b"data:" and comma:
        if header.lower().endswith(b";binary"):
            return payload
        if header.lower().endswith(b";base64"):
            cleaned = payload.replace(b" ", b"+").translate(None, b"\r\n\t")
            return _text(header + b"," + cleaned, name)
    return _text(value, name)


def _text(value: bytes, what: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"{what}: is not UTF-8 text") from None


def decode_form(
    parts: Iterable[tuple[str, PartValue]],
    model: type[BaseModel],
    *,
    accepts_files: bool,
    unknown_hint: str = "",
) -> DecodedBody:
    """Split form parts into the model's fields (unflattened) and network files.

    A file part whose name is a field of ``model`` (``-F preprocessing=@p.json``) or a path
    that ends in a bytes field (``inputs[0]image.source``) is a field; any other file part is
    a network file named by its part name when ``accepts_files``, else an error.
    """
    fields: list[tuple[str, Any]] = []
    files: dict[str, IO[bytes]] = {}
    for name, value in parts:
        if isinstance(value, FilePart) and not _is_field(name, model):
            if not accepts_files:
                raise BadRequest(f"{name}: this request takes no file named {name!r}")
            if name in files:
                raise BadRequest(f"The file {name!r} is sent twice; send each file once.")
            files[name] = value.file
            continue
        root = parse_key(name)[0]
        if root not in model.model_fields:
            raise BadRequest(f"{name}: is not a known field{unknown_hint}")
        fields.append((name, value))
    return DecodedBody(data=unflatten(fields), files=files)


def _is_field(name: str, model: type[BaseModel]) -> bool:
    if name in model.model_fields:
        return True
    try:
        segments = parse_key(name)
    except BadRequest:
        return False
    return _accepts_bytes(_annotation_at(model, segments))


def _annotation_at(model: type[BaseModel], segments: list[Segment]) -> Any:
    annotation: Any = model
    for segment in segments:
        annotation = _without_none(annotation)
        if isinstance(segment, int):
            if get_origin(annotation) is not list:
                return None
            annotation = get_args(annotation)[0]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(segment)
            if info is None:
                return None
            annotation = info.annotation
        else:
            return None
    return annotation


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _accepts_bytes(annotation: Any) -> bool:
    annotation = _without_none(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return bytes in get_args(annotation)
    return annotation is bytes


def shape(value: Any, annotation: Any, path: list[Segment], *, max_file_bytes: int) -> Any:
    """Reshape ``value`` towards ``annotation`` (see the module docstring); what cannot be
    reshaped is returned as is for pydantic to report. A file part read into memory (an
    image, a JSON field sent as a file) larger than ``max_file_bytes`` is
    :class:`PayloadTooLarge`."""
    annotation = _without_none(annotation)
    if isinstance(value, FilePart):
        content = _read_all(value, max_file_bytes, path)
        if _accepts_bytes(annotation):
            return content
        value = _text(content, format_path(path))
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        value = _json_if_text(value, dict, path)
        if isinstance(value, dict):
            return {
                key: shape(
                    item,
                    annotation.model_fields[key].annotation,
                    [*path, key],
                    max_file_bytes=max_file_bytes,
                )
                if key in annotation.model_fields
                else item
                for key, item in value.items()
            }
        return value
    if origin is list:
        if isinstance(value, str):
            value = _json_if_text(value, list, path) if value.lstrip().startswith("[") else [value]
        if isinstance(value, list):
            (item_annotation,) = get_args(annotation) or (Any,)
            return [
                shape(item, item_annotation, [*path, i], max_file_bytes=max_file_bytes)
                for i, item in enumerate(value)
            ]
        return value
    if origin in (dict, Mapping) or annotation is dict:
        return _json_if_text(value, dict, path)
    if isinstance(value, list) and _is_scalar(annotation):
        if len(value) != 1:
            raise BadRequest(f"{format_path(path)}: given {len(value)} times; send it once")
        return shape(value[0], annotation, path, max_file_bytes=max_file_bytes)
    return value


def _is_scalar(annotation: Any) -> bool:
    return annotation in (str, bytes, bool, int, float) or get_origin(annotation) in (
        Literal,
        Union,
        types.UnionType,
    )


def _json_if_text(value: Any, expected: type, path: list[Segment]) -> Any:
    if not isinstance(value, str):
        return value
    what = "an object" if expected is dict else "a list"
    try:
        # orjson, as for JSON bodies: NaN and Infinity are refused, and nesting is bounded
        # (json.loads recurses: 100,000 levels raise RecursionError).
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        raise BadRequest(
            f"{format_path(path)}: must be {what} in JSON, but this text is not valid JSON "
            f"({_json_problem(error)})",
            fields={format_path(path): "is not valid JSON"},
        ) from None
    if not isinstance(parsed, expected):
        raise BadRequest(
            f"{format_path(path)}: must be {what} in JSON",
            fields={format_path(path): f"must be {what}"},
        )
    return parsed


def _read_all(part: FilePart, max_bytes: int, path: list[Segment]) -> bytes:
    part.file.seek(0)
    content = part.file.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise PayloadTooLarge(
            f"{format_path(path)}: the file part holds more than {max_bytes} bytes, the most "
            "an image may have here (VULCAIN_FETCH_MAX_BYTES); send a smaller image.",
            fields={format_path(path): f"larger than {max_bytes} bytes"},
        )
    return content

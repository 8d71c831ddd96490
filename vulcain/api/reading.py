"""Read a POST/PATCH body in whichever of the accepted encodings it came, and validate it.

Multipart files are left where Starlette spools them (memory up to 1 MB, then a temporary
file), so a 2 GB caffemodel is never held in memory; the files stay open until the
``async with`` block of :func:`read_body` ends.

A JSON body is validated as it came, and reshaped (:func:`vulcain.api.bodies.shape`) only
when the model refuses it so: most JSON bodies need nothing of it, and the walk would cost
an inference request several times its validation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import IO, Any, Generic, TypeVar

from fastapi import Request
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from vulcain.api._multipart import read_multipart
from vulcain.api.bodies import (
    FilePart,
    PartValue,
    decode_form,
    parse_json_document,
    parse_urlencoded,
    shape,
)
from vulcain.api.validation import validate
from vulcain.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from vulcain.schemas import MAX_POLYGON_POINTS

JSON = "application/json"
MULTIPART = "multipart/form-data"
URLENCODED = "application/x-www-form-urlencoded"

MAX_INLINE_BYTES = 64 * 1024 * 1024
"""Largest JSON or form-urlencoded body, and largest non-file multipart part (a base64 image
sent as text): these are held in memory. Files go as multipart file parts."""


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass
class Body(Generic[ModelT]):
    """A request's validated fields and its network files by name."""

    fields: ModelT
    files: dict[str, IO[bytes]] = field(default_factory=dict)


@asynccontextmanager
async def read_body(
    request: Request,
    model: type[ModelT],
    *,
    accepts_files: bool = False,
    unknown_hint: str = "",
) -> AsyncIterator[Body[ModelT]]:
    """The body validated as ``model``, and its files.

    Raises :class:`UnsupportedMediaType` for a content type that is none of JSON, multipart
    and form-urlencoded, :class:`BadRequest` for a body that cannot be decoded or is
    invalid, and :class:`PayloadTooLarge` for a file part read into memory (an image)
    larger than ``settings.fetch_max_bytes``, the cap of an image fetched from a URL.
    The limits that are settings (a polygon's points) reach the model as its validation
    context.
    """
    settings = request.app.state.settings
    max_file_bytes = settings.fetch_max_bytes
    context = {MAX_POLYGON_POINTS: settings.max_polygon_points}
    kind = media_type(request)
    if kind == MULTIPART:
        async with read_multipart(
            request, max_files=1000, max_fields=10000, max_part_size=MAX_INLINE_BYTES
        ) as form:
            parts: list[tuple[str, PartValue]] = [
                (name, _part(value)) for name, value in form.multi_items()
            ]
            decoded = decode_form(
                parts, model, accepts_files=accepts_files, unknown_hint=unknown_hint
            )
            shaped = shape(decoded.data, model, [], max_file_bytes=max_file_bytes)
            yield Body(validate(model, shaped, context), decoded.files)
        return
    raw = await _read_inline(request)
    if kind == JSON or kind.endswith("+json") or (not kind and _looks_like_json(raw)):
        yield Body(_validate_json(parse_json_document(raw), model, max_file_bytes, context))
        return
    data: dict[str, Any]
    if kind == URLENCODED:
        # `curl -d '{"name": "x"}'` sends JSON labelled as a form: the seed's PATCH example.
        if _looks_like_json(raw):
            data = parse_json_document(raw)
        else:
            data = decode_form(
                parse_urlencoded(raw), model, accepts_files=False, unknown_hint=unknown_hint
            ).data
    elif not kind and not raw.strip():
        data = {}
    else:
        raise UnsupportedMediaType(
            f"The content type {kind or '(none)'!r} is not supported: send "
            f"{JSON}, {MULTIPART} or {URLENCODED}"
        )
    yield Body(validate(model, shape(data, model, [], max_file_bytes=max_file_bytes), context))


def _validate_json(
    data: dict[str, Any],
    model: type[ModelT],
    max_file_bytes: int,
    context: Mapping[str, Any] | None,
) -> ModelT:
    try:
        return validate(model, data, context)
    except BadRequest:
        return validate(model, shape(data, model, [], max_file_bytes=max_file_bytes), context)


async def _read_inline(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_INLINE_BYTES:
            raise PayloadTooLarge(
                f"A JSON or form-urlencoded body may hold at most {MAX_INLINE_BYTES} bytes; "
                "send large files as multipart/form-data file parts"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _part(value: str | UploadFile) -> PartValue:
    return FilePart(value.file, value.filename) if isinstance(value, UploadFile) else value


def _looks_like_json(raw: bytes) -> bool:
    return raw.lstrip()[:1] == b"{"

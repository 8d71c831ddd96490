"""Inference inputs and how they travel: JSON, or multipart when an image is uploaded."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import IO, Any, Literal

URL_PREFIXES = ("http://", "https://")
DATA_URI_PREFIX = "data:"
BBOX_KEYS = ("xmin", "ymin", "xmax", "ymax")

Encoding = Literal["binary", "base64"]


class ImageInput:
    """One image given to a network input.

    ``source`` is one of:

    - an ``http(s)://`` URL (fetched by the server) or a ``data:image/*;base64,...`` URI;
    - a binary file object (``open(path, "rb")``), uploaded as is;
    - ``bytes`` with ``encoding="binary"`` (the file's bytes, uploaded as is);
    - ``bytes`` or ``str`` with ``encoding="base64"`` (base64 of the file's bytes).

    ``bbox`` is ``{"xmin", "ymin", "xmax", "ymax"}`` relative to the image size (0 to 1);
    ``polygon`` a list of ``{"x", "y"}`` relative points; ``crop_uniform_background`` trims
    uniform borders first. Unlike the official ``deepomatic-api`` client, a bbox can go with
    any kind of source.
    """

    def __init__(
        self,
        source: str | bytes | IO[bytes],
        encoding: Encoding | None = None,
        bbox: Mapping[str, float] | None = None,
        polygon: Sequence[Mapping[str, float]] | None = None,
        crop_uniform_background: bool = False,
    ) -> None:
        self.upload: bytes | IO[bytes] | None = None
        self.source: str | None = None
        if isinstance(source, str) and source.startswith((*URL_PREFIXES, DATA_URI_PREFIX)):
            self.source = source
        elif isinstance(source, bytes | bytearray | memoryview | str):
            self._set_raw(source, encoding)
        elif hasattr(source, "read"):
            self.upload = source
        else:
            raise TypeError(
                f"ImageInput source must be a URL, a binary file object or bytes, "
                f"not {type(source).__name__}"
            )
        self.bbox = _check_bbox(bbox) if bbox is not None else None
        self.polygon = _check_polygon(polygon) if polygon is not None else None
        self.crop_uniform_background = bool(crop_uniform_background)

    def _set_raw(self, raw: bytes | bytearray | memoryview | str, encoding: str | None) -> None:
        if encoding == "binary":
            if isinstance(raw, str):
                raise TypeError('encoding="binary" needs bytes; for text use encoding="base64"')
            self.upload = bytes(raw)
        elif encoding == "base64":
            text = raw if isinstance(raw, str) else bytes(raw).decode("ascii", "replace")
            text = "".join(text.split())
            try:
                base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError) as error:
                raise ValueError(
                    f'encoding="base64" but the source is not base64: {error}'
                ) from None
            self.source = f"data:image/*;base64,{text}"
        elif encoding is None:
            raise ValueError(
                'raw image data needs encoding="binary" (file bytes) or encoding="base64"'
            )
        else:
            raise ValueError(f'encoding must be "binary" or "base64", not {encoding!r}')

    def image_fields(self) -> dict[str, Any]:
        """The ``image`` object of this input, without the source."""
        fields: dict[str, Any] = {}
        if self.bbox is not None:
            fields["bbox"] = self.bbox
        if self.polygon is not None:
            fields["polygon"] = self.polygon
        if self.crop_uniform_background:
            fields["crop_uniform_background"] = True
        return fields

    def __repr__(self) -> str:
        kind = "upload" if self.upload is not None else (self.source or "")[:40]
        return f"ImageInput({kind!r}, bbox={self.bbox!r}, polygon={self.polygon!r})"


def _check_bbox(bbox: Mapping[str, float]) -> dict[str, float]:
    missing = [key for key in BBOX_KEYS if key not in bbox]
    if missing:
        raise ValueError(f"bbox misses {', '.join(missing)}: give xmin, ymin, xmax, ymax in [0, 1]")
    return {key: float(bbox[key]) for key in BBOX_KEYS}


def _check_polygon(polygon: Sequence[Mapping[str, float]]) -> list[dict[str, float]]:
    try:
        return [{"x": float(point["x"]), "y": float(point["y"])} for point in polygon]
    except (KeyError, TypeError) as error:
        raise ValueError(f"polygon must be a list of {{'x', 'y'}} points: {error}") from None


def inference_body(
    inputs: Sequence[ImageInput],
    output_tensors: Sequence[str] | None,
    options: Mapping[str, bool | int] | None = None,
) -> dict[str, Any]:
    """Keyword arguments of the request: ``json=`` when every source is a string, else a
    multipart body with flattened keys (docs/api.md) and one file part per upload.
    ``output_tensors`` is left out when ``None`` (a recognition names none); ``options``
    are top-level fields (``show_discarded``, ``max_predictions``)."""
    if isinstance(output_tensors, str):
        output_tensors = [output_tensors]
    for item in inputs:
        if not isinstance(item, ImageInput):
            raise TypeError(f"inputs must be ImageInput objects, not {type(item).__name__}")
    fields: dict[str, Any] = dict(options or {})
    if output_tensors is not None:
        fields["output_tensors"] = list(output_tensors)
    if not any(item.upload is not None for item in inputs):
        images = [{"image": {"source": i.source, **i.image_fields()}} for i in inputs]
        return {"json": {"inputs": images, **fields}}
    data: dict[str, str] = {}
    files: list[tuple[str, tuple[str, Any, str]]] = []
    for index, item in enumerate(inputs):
        prefix = f"inputs[{index}]image."
        if item.upload is not None:
            files.append((prefix + "source", ("image", item.upload, "application/octet-stream")))
        else:
            data[prefix + "source"] = item.source or ""
        _flatten(item.image_fields(), prefix.rstrip("."), data)
    for name, value in fields.items():
        _flatten(value, name, data)
    return {"data": data, "files": files}


def _flatten(value: Any, key: str, into: dict[str, str]) -> None:
    """``{"a": {"b": [{"c": 1}]}}`` becomes ``a.b[0]c = "1"``, as Django REST clients send."""
    if isinstance(value, Mapping):
        separator = "" if key.endswith("]") or not key else "."
        for child, item in value.items():
            _flatten(item, f"{key}{separator}{child}", into)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _flatten(item, f"{key}[{index}]", into)
    elif isinstance(value, bool):
        into[key] = "true" if value else "false"
    else:
        into[key] = str(value)

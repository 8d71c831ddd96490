"""An image's format and size read from its header, before any pixel is decoded.

This is what lets the pixel cap refuse a decompression bomb cheaply. JPEG, the common
case, is walked here (which also tells a truncated file, one without an end-of-image
marker after its scan, from a complete one); the other formats use Pillow's parsers
directly, bypassing ``Image.open`` whose own bomb check would warn or refuse by
Pillow's global limit instead of ours.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from PIL import (
    BmpImagePlugin,
    GifImagePlugin,
    ImageFile,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from vulcain.errors import ImageError

SUPPORTED_FORMATS = "JPEG, PNG, BMP, WebP, TIFF or GIF"

_PILLOW_PARSERS: dict[str, Callable[[IO[bytes]], ImageFile.ImageFile]] = {
    "PNG": PngImagePlugin.PngImageFile,
    "GIF": GifImagePlugin.GifImageFile,
    "BMP": BmpImagePlugin.BmpImageFile,
    "WebP": WebPImagePlugin.WebPImageFile,
    "TIFF": TiffImagePlugin.TiffImageFile,
}
_JPEG_SOF = frozenset(
    {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)}
)
_JPEG_STANDALONE = frozenset({0x01, 0xD8, *range(0xD0, 0xD8)})


@dataclass(frozen=True)
class ImageHeader:
    format: str
    width: int
    height: int


def sniff_format(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data.startswith(b"BM"):
        return "BMP"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    return None


def read_header(data: bytes) -> ImageHeader:
    """Format and size of ``data``; an :class:`ImageError` if it is not a readable image
    of a supported format or (JPEG) is truncated."""
    image_format = sniff_format(data)
    if image_format is None:
        raise ImageError(
            f"the data is not a {SUPPORTED_FORMATS} image (it starts with {data[:16]!r})."
        )
    if image_format == "JPEG":
        width, height = _jpeg_size(data)
        return ImageHeader("JPEG", width, height)
    try:
        parsed = _PILLOW_PARSERS[image_format](io.BytesIO(data))
        width, height = parsed.size
        parsed.close()
    except Exception as exc:  # Pillow's parsers raise many types for a bad header.
        raise ImageError(
            f"the {image_format} image has a header that cannot be read ({exc})."
        ) from exc
    return ImageHeader(image_format, width, height)


def _jpeg_size(data: bytes) -> tuple[int, int]:
    size: tuple[int, int] | None = None
    position, end = 2, len(data)
    while position + 4 <= end:
        if data[position] != 0xFF:
            raise ImageError(
                f"the JPEG image is corrupt: no marker where one is due at byte {position}."
            )
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1
            continue
        if marker in _JPEG_STANDALONE:
            position += 2
            continue
        if marker == 0xD9:
            raise ImageError("the JPEG image is corrupt: it ends before any image data.")
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if marker in _JPEG_SOF and position + 9 <= end:
            height = int.from_bytes(data[position + 5 : position + 7], "big")
            width = int.from_bytes(data[position + 7 : position + 9], "big")
            size = (width, height)
        if marker == 0xDA:
            if size is None or size[0] == 0 or size[1] == 0:
                raise ImageError("the JPEG image is corrupt: it has no valid frame header.")
            # Entropy-coded data never holds FF D9 (an FF byte in it is followed by 00 or a
            # restart marker), so an end-of-image marker after the scan means a complete file.
            if data.rfind(b"\xff\xd9", position + 2 + length) == -1:
                raise _truncated(len(data))
            return size
        position += 2 + length
    raise _truncated(len(data))


def _truncated(size: int) -> ImageError:
    return ImageError(
        f"the JPEG image is truncated: its {size} bytes end before the end-of-image marker."
    )

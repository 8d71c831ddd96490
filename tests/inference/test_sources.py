"""Decoding every format like cv2.imdecode, data URIs, and every refusal's sentence."""

from __future__ import annotations

import base64
import io
import struct
import time
import zlib
from urllib.parse import quote_from_bytes

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.settings import fetch_policy
from vulcain.errors import ImageError, VulcainError
from vulcain.inference.sources import decode_image, read_source

MAX_PIXELS = fetch_policy().max_pixels


def opencv(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def encoded(image: np.ndarray, extension: str, *params: int) -> bytes:
    ok, buffer = cv2.imencode(extension, image, list(params))
    assert ok
    return buffer.tobytes()


@pytest.mark.parametrize(
    ("extension", "params"),
    [
        (".jpg", (cv2.IMWRITE_JPEG_QUALITY, 90)),
        (".jpg", (cv2.IMWRITE_JPEG_PROGRESSIVE, 1)),
        (".png", ()),
        (".bmp", ()),
        (".webp", (cv2.IMWRITE_WEBP_QUALITY, 80)),
        (".tiff", ()),
    ],
)
def test_formats_decode_like_opencv(make_image, extension, params):
    data = encoded(make_image(37, 53), extension, *params)
    decoded = decode_image(data, MAX_PIXELS)
    assert decoded.dtype == np.uint8
    assert decoded.shape == (37, 53, 3)
    np.testing.assert_array_equal(decoded, opencv(data))


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16"])
def test_other_png_modes_become_bgr_like_opencv(make_image, mode):
    pil = Image.fromarray(make_image(20, 30)[:, :, ::-1]).convert(mode)
    buffer = io.BytesIO()
    pil.save(buffer, format="PNG")
    decoded = decode_image(buffer.getvalue(), MAX_PIXELS)
    assert decoded.shape == (20, 30, 3)
    np.testing.assert_array_equal(decoded, opencv(buffer.getvalue()))


def test_gif_decodes_its_first_frame(make_image):
    frames = [Image.fromarray(make_image(24, 32, seed=seed)[:, :, ::-1]) for seed in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    data = buffer.getvalue()
    decoded = decode_image(data, MAX_PIXELS)
    first = np.array(Image.open(io.BytesIO(data)).convert("RGB"))[:, :, ::-1]
    np.testing.assert_array_equal(decoded, first)
    np.testing.assert_array_equal(decoded, opencv(data))


def test_exif_rotated_jpeg_comes_out_upright():
    stored = np.zeros((40, 60, 3), np.uint8)
    stored[:, :30] = (0, 0, 250)
    stored[:20, 30:] = (250, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90 degrees clockwise
    buffer = io.BytesIO()
    Image.fromarray(stored[:, :, ::-1]).save(buffer, format="JPEG", exif=exif, quality=100)
    decoded = decode_image(buffer.getvalue(), MAX_PIXELS)
    upright = np.rot90(stored, k=-1)
    assert decoded.shape == upright.shape == (60, 40, 3)
    assert np.abs(decoded.astype(int) - upright).mean() < 3


def png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 10_000)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_a_huge_png_is_refused_from_its_header_quickly():
    started = time.perf_counter()
    with pytest.raises(ImageError, match=r"50000x50000 \(2500000000 pixels\).*100000000"):
        decode_image(png_header_only(50_000, 50_000), MAX_PIXELS)
    assert time.perf_counter() - started < 0.5


def test_a_huge_jpeg_header_is_refused(make_image):
    data = bytearray(encoded(make_image(8, 8), ".jpg"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60_000, 60_000)
    with pytest.raises(ImageError, match="60000x60000"):
        decode_image(bytes(data), MAX_PIXELS)


def test_the_pixel_cap_is_the_callers(make_image):
    data = encoded(make_image(20, 30), ".png")
    assert decode_image(data, 600).shape == (20, 30, 3)
    with pytest.raises(ImageError, match=r"30x20 .*599"):
        decode_image(data, 599)


def test_non_image_bytes_are_refused():
    with pytest.raises(ImageError, match=r"not a JPEG, PNG, BMP, WebP, TIFF or GIF image.*<html>"):
        decode_image(b"<html><body>Not found</body></html>", MAX_PIXELS)


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_jpeg_is_refused(make_image, keep):
    data = encoded(make_image(64, 64), ".jpg")
    with pytest.raises(ImageError, match="JPEG image is truncated"):
        decode_image(data[: int(len(data) * keep)], MAX_PIXELS)
    with pytest.raises(ImageError, match="JPEG image is truncated"):
        decode_image(data[:-2], MAX_PIXELS)


def test_jpeg_with_trailing_bytes_after_its_end_still_decodes(make_image):
    data = encoded(make_image(16, 16), ".jpg") + b"\x00" * 64
    np.testing.assert_array_equal(decode_image(data, MAX_PIXELS), opencv(data))


def test_truncated_png_is_refused(make_image):
    data = encoded(make_image(64, 64), ".png")
    with pytest.raises(ImageError, match=r"PNG image .* is corrupt or truncated"):
        decode_image(data[: len(data) // 2], MAX_PIXELS)


def test_empty_data_is_refused():
    with pytest.raises(ImageError, match="empty") as raised:
        decode_image(b"", MAX_PIXELS)
    assert isinstance(raised.value, VulcainError)
    assert raised.value.status_code == 400


def test_bytes_are_returned_as_they_are(jpeg_bytes):
    assert read_source(jpeg_bytes, fetch_policy()) == jpeg_bytes


@pytest.mark.parametrize(
    "to_uri",
    [
        lambda b: "data:image/*;base64," + base64.b64encode(b).decode(),
        lambda b: "data:image/*;base64," + base64.b64encode(b).decode().rstrip("="),
        lambda b: "data:image/jpeg;base64,\n" + base64.encodebytes(b).decode(),
        lambda b: "data:image/*;base64," + base64.b64encode(b).decode().replace("+", " "),
        lambda b: "data:image/*;base64," + base64.urlsafe_b64encode(b).decode(),
        lambda b: "data:image/*;binary," + quote_from_bytes(b),
        lambda b: "DATA:IMAGE/PNG;BINARY," + quote_from_bytes(b, safe=""),
    ],
    ids=["padded", "unpadded", "lines", "plus-as-space", "urlsafe", "binary", "binary-upper"],
)
def test_data_uris_give_the_original_bytes(to_uri):
    # Lengths 0, 1 and 2 mod 3 give every amount of base64 padding.
    for data in (bytes(range(256)) * 3, bytes(range(256)) * 3 + b"\xfb", b"\xff\xd8\xff\xfe\xef"):
        assert read_source(to_uri(data), fetch_policy()) == data


def test_a_data_uri_decodes_to_the_image(jpeg_bytes):
    uri = "data:image/*;base64," + base64.b64encode(jpeg_bytes).decode()
    decoded = decode_image(read_source(uri, fetch_policy()), MAX_PIXELS)
    np.testing.assert_array_equal(decoded, opencv(jpeg_bytes))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("data:image/*;base64,abc$def", "not valid base64"),
        ("data:image/*;base64,abcde", "cut short"),
        ("data:image/png;utf8,abc", "must be 'data:image/\\*;base64"),
        ("data:text/html;base64,PGI+", "media type 'text/html'"),
        ("/etc/passwd", "is not an http:// or https:// URL, a 'data:image"),
        ("ftp://example.com/cat.jpg", "is not an http:// or https:// URL"),
        ("file:///etc/passwd", "is not an http:// or https:// URL"),
        ("garbage", "is not an http:// or https:// URL"),
    ],
)
def test_bad_sources_say_what_is_accepted(source, message):
    with pytest.raises(ImageError, match=message):
        read_source(source, fetch_policy())


def test_a_data_uri_above_the_byte_cap_is_refused():
    uri = "data:image/*;base64," + base64.b64encode(b"\x00" * 2000).decode()
    with pytest.raises(ImageError, match="2000 bytes, more than the 1000"):
        read_source(uri, fetch_policy(fetch_max_bytes=1000))

from __future__ import annotations

import base64
import io

import pytest

from vulcain.client import ImageInput
from vulcain.client._inputs import inference_body

PNG = b"\x89PNG\r\n\x1a\n fake bytes"


def test_url_inputs_travel_as_json():
    body = inference_body(
        [ImageInput("http://host/a.jpg", bbox={"xmin": 0, "ymin": 0.1, "xmax": 1, "ymax": 0.9})],
        ["prob", "pool5"],
    )
    assert body == {
        "json": {
            "inputs": [
                {
                    "image": {
                        "source": "http://host/a.jpg",
                        "bbox": {"xmin": 0.0, "ymin": 0.1, "xmax": 1.0, "ymax": 0.9},
                    }
                }
            ],
            "output_tensors": ["prob", "pool5"],
        }
    }


@pytest.mark.parametrize("raw", [base64.b64encode(PNG), base64.b64encode(PNG).decode()])
def test_base64_becomes_a_data_uri(raw):
    body = inference_body([ImageInput(raw, encoding="base64")], ["prob"])
    source = body["json"]["inputs"][0]["image"]["source"]
    assert source == "data:image/*;base64," + base64.b64encode(PNG).decode()


def test_base64_with_line_breaks_is_joined():
    wrapped = base64.encodebytes(PNG * 20)
    item = ImageInput(wrapped, encoding="base64")
    assert item.source == "data:image/*;base64," + base64.b64encode(PNG * 20).decode()


def test_binary_and_file_sources_go_as_multipart_parts_with_flattened_keys():
    file = io.BytesIO(PNG)
    polygon = [{"x": 0, "y": 0}, {"x": 1, "y": 0}, {"x": 0.5, "y": 1}]
    body = inference_body(
        [
            ImageInput(PNG, encoding="binary", bbox={"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}),
            ImageInput(file, polygon=polygon, crop_uniform_background=True),
            ImageInput("https://host/b.png"),
        ],
        ["prob"],
    )
    assert body["data"] == {
        "inputs[0]image.bbox.xmin": "0.0",
        "inputs[0]image.bbox.ymin": "0.0",
        "inputs[0]image.bbox.xmax": "1.0",
        "inputs[0]image.bbox.ymax": "1.0",
        "inputs[1]image.polygon[0]x": "0.0",
        "inputs[1]image.polygon[0]y": "0.0",
        "inputs[1]image.polygon[1]x": "1.0",
        "inputs[1]image.polygon[1]y": "0.0",
        "inputs[1]image.polygon[2]x": "0.5",
        "inputs[1]image.polygon[2]y": "1.0",
        "inputs[1]image.crop_uniform_background": "true",
        "inputs[2]image.source": "https://host/b.png",
        "output_tensors[0]": "prob",
    }
    names = [name for name, _ in body["files"]]
    assert names == ["inputs[0]image.source", "inputs[1]image.source"]
    assert body["files"][0][1][1] == PNG
    assert body["files"][1][1][1] is file


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"source": PNG}, ValueError, "needs encoding"),
        ({"source": PNG, "encoding": "hex"}, ValueError, "must be"),
        ({"source": "not base64 !!", "encoding": "base64"}, ValueError, "not base64"),
        ({"source": "text", "encoding": "binary"}, TypeError, "needs bytes"),
        ({"source": 42}, TypeError, "not int"),
        ({"source": "http://h/x", "bbox": {"xmin": 0}}, ValueError, "misses ymin"),
        ({"source": "http://h/x", "polygon": [{"x": 1}]}, ValueError, "polygon"),
    ],
)
def test_invalid_inputs_fail_before_any_request(kwargs, error, message):
    with pytest.raises(error, match=message):
        ImageInput(**kwargs)


def test_inputs_must_be_image_inputs():
    with pytest.raises(TypeError, match="ImageInput"):
        inference_body(["http://h/x.jpg"], ["prob"])  # type: ignore[list-item]

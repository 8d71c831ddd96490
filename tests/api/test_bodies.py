from __future__ import annotations

import io
import json
from urllib.parse import quote

import pytest

from vulcain.api.bodies import (
    FilePart,
    decode_form,
    parse_json_document,
    parse_urlencoded,
    shape,
)
from vulcain.api.models import NetworkCreate
from vulcain.api.validation import validate
from vulcain.errors import BadRequest, PayloadTooLarge
from vulcain.schemas import InferenceRequest

PREPROCESSING = {
    "inputs": [
        {
            "tensor_name": "data",
            "image": {"target_size": "224x224", "resize_type": "CROP", "pixel_scaling": 1.0},
        }
    ],
    "batched_output": False,
}
EXPECTED_CREATE = {
    "name": "net",
    "description": "",
    "metadata": {"author": "me"},
    "framework": "nv-caffe-0.x-mod",
    "preprocessing": PREPROCESSING,
}


LIMIT = 1024


def _file(content: bytes, filename: str | None = "upload") -> FilePart:
    return FilePart(io.BytesIO(content), filename)


def _create(parts) -> tuple[dict, dict]:
    body = decode_form(parts, NetworkCreate, accepts_files=True)
    fields = validate(NetworkCreate, shape(body.data, NetworkCreate, [], max_file_bytes=LIMIT))
    return fields.model_dump(exclude_defaults=False), body.files


def _expected() -> dict:
    return validate(NetworkCreate, EXPECTED_CREATE).model_dump()


def test_json_string_parts_mean_the_same_as_json():
    deploy, weights = _file(b"prototxt"), _file(b"weights", "weights.bin")
    fields, files = _create(
        [
            ("name", "net"),
            ("metadata", json.dumps({"author": "me"})),
            ("framework", "nv-caffe-0.x-mod"),
            ("preprocessing", json.dumps(PREPROCESSING)),
            ("deploy.prototxt", deploy),
            ("snapshot.caffemodel", weights),
        ]
    )
    assert fields == _expected()
    assert files == {"deploy.prototxt": deploy.file, "snapshot.caffemodel": weights.file}


def test_flattened_keys_with_text_scalars_mean_the_same_as_json():
    fields, files = _create(
        [
            ("name", "net"),
            ("metadata.author", "me"),
            ("framework", "nv-caffe-0.x-mod"),
            ("preprocessing.inputs[0]tensor_name", "data"),
            ("preprocessing.inputs[0]image.target_size", "224x224"),
            ("preprocessing.inputs[0]image.resize_type", "CROP"),
            ("preprocessing.inputs[0]image.pixel_scaling", "1.0"),
            ("preprocessing.batched_output", "False"),
            ("mean.binaryproto", _file(b"mean", "other-name")),
        ]
    )
    assert fields == _expected()
    assert list(files) == ["mean.binaryproto"]
    assert files["mean.binaryproto"].read() == b"mean"


def test_a_structured_field_may_come_as_a_file_part():
    fields, files = _create(
        [
            ("name", "net"),
            ("metadata", _file(b'{"author": "me"}')),
            ("framework", "nv-caffe-0.x-mod"),
            ("preprocessing", _file(json.dumps(PREPROCESSING).encode(), "p.json")),
        ]
    )
    assert fields == _expected()
    assert files == {}


def test_broken_json_part_names_the_field():
    with pytest.raises(BadRequest, match=r"^preprocessing: must be an object in JSON.*line 1"):
        _create([("name", "n"), ("framework", "onnx"), ("preprocessing", '{"inputs": [')])


def test_unknown_text_field_is_refused_with_a_hint():
    with pytest.raises(BadRequest, match=r"deploy.prototxt: is not a known field; send files"):
        decode_form(
            [("deploy.prototxt", "/tmp/deploy.prototxt")],
            NetworkCreate,
            accepts_files=True,
            unknown_hint="; send files",
        )


def test_a_file_sent_twice_is_refused():
    with pytest.raises(BadRequest, match=r"model\.onnx' is sent twice"):
        decode_form(
            [("model.onnx", _file(b"a")), ("model.onnx", _file(b"b"))],
            NetworkCreate,
            accepts_files=True,
        )


def test_inference_file_part_becomes_the_source_bytes():
    body = decode_form(
        [
            ("inputs[0]image.source", _file(b"\xff\xd8jpeg", "inputs[0]image.source")),
            ("inputs[0]image.crop_uniform_background", "False"),
            ("inputs[1]image.source", "https://example.com/a.jpg"),
            ("inputs[1]image.bbox.xmin", "0.1"),
            ("inputs[1]image.bbox.ymin", "0"),
            ("inputs[1]image.bbox.xmax", "1"),
            ("inputs[1]image.bbox.ymax", "0.5"),
            ("output_tensors[0]", "prob"),
            ("output_tensors[1]", "pool5"),
        ],
        InferenceRequest,
        accepts_files=False,
    )
    request = validate(
        InferenceRequest, shape(body.data, InferenceRequest, [], max_file_bytes=LIMIT)
    )
    assert request.inputs[0].image.source == b"\xff\xd8jpeg"
    assert request.inputs[0].image.crop_uniform_background is False
    assert request.inputs[1].image.bbox is not None
    assert request.inputs[1].image.bbox.xmin == pytest.approx(0.1)
    assert request.output_tensors == ["prob", "pool5"]


def test_an_image_file_part_larger_than_the_limit_is_413_before_it_is_read_whole():
    big = _file(b"x" * (100 * LIMIT), "big.jpg")
    body = decode_form([("inputs[0]image.source", big)], InferenceRequest, accepts_files=False)
    with pytest.raises(PayloadTooLarge, match=r"inputs\[0\]\.image\.source: .* 1024 bytes"):
        shape(body.data, InferenceRequest, [], max_file_bytes=LIMIT)
    assert big.file.tell() == LIMIT + 1
    exact = decode_form(
        [("inputs[0]image.source", _file(b"x" * LIMIT))], InferenceRequest, accepts_files=False
    )
    data = shape(exact.data, InferenceRequest, [], max_file_bytes=LIMIT)
    assert data["inputs"][0]["image"]["source"] == b"x" * LIMIT


def test_inference_refuses_other_files():
    with pytest.raises(BadRequest, match=r"takes no file named 'img\.jpg'"):
        decode_form([("img.jpg", _file(b"x"))], InferenceRequest, accepts_files=False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("prob", ["prob"]), (["prob", "pool5"], ["prob", "pool5"]), ('["a", "b"]', ["a", "b"])],
)
def test_output_tensors_from_one_value_repeated_values_or_json(value, expected):
    data = shape({"output_tensors": value}, InferenceRequest, [], max_file_bytes=LIMIT)
    assert data["output_tensors"] == expected


def test_inputs_as_one_json_string():
    inputs = json.dumps([{"image": {"source": "https://example.com/a.jpg"}}])
    data = shape(
        {"inputs": inputs, "output_tensors": "prob"}, InferenceRequest, [], max_file_bytes=LIMIT
    )
    assert validate(InferenceRequest, data).inputs[0].image.source == "https://example.com/a.jpg"


def test_a_scalar_sent_twice_is_refused():
    with pytest.raises(BadRequest, match="name: given 2 times; send it once"):
        shape({"name": ["a", "b"]}, NetworkCreate, [], max_file_bytes=LIMIT)


def test_urlencoded_base64_data_uri_gets_its_plus_back():
    # `curl -d inputs[0]image.source="data:image/*%3Bbase64,${B64}"` leaves '+' unencoded.
    raw = b"inputs[0]image.source=data:image/*%3Bbase64,ab+c/d+=&output_tensors=prob"
    assert parse_urlencoded(raw) == [
        ("inputs[0]image.source", "data:image/*;base64,ab+c/d+="),
        ("output_tensors", "prob"),
    ]


def test_urlencoded_binary_data_uri_keeps_its_bytes():
    payload = bytes(range(256))
    raw = b"inputs[0]image.source=data:image/*%3Bbinary," + quote(payload).encode()
    assert parse_urlencoded(raw) == [("inputs[0]image.source", payload)]


def test_urlencoded_plain_values_are_decoded_once():
    raw = b"name=my+new+network&metadata.author=J%C3%A9r%C3%B4me&empty="
    assert parse_urlencoded(raw) == [
        ("name", "my new network"),
        ("metadata.author", "Jérôme"),
        ("empty", ""),
    ]


def test_json_document():
    assert parse_json_document(b"  ") == {}
    assert parse_json_document(b'{"a": 1}') == {"a": 1}
    with pytest.raises(
        BadRequest,
        match=r"not valid JSON: unexpected character, expected a JSON value at line 1 column 7",
    ):
        parse_json_document(b'{"a": }')
    with pytest.raises(BadRequest, match="must be an object"):
        parse_json_document(b"[1]")

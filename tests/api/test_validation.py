from __future__ import annotations

import pytest

from vulcain.api.models import NetworkCreate
from vulcain.api.validation import validate
from vulcain.errors import BadRequest
from vulcain.schemas import InferenceRequest


def _fields(model, data) -> tuple[str, dict[str, str]]:
    with pytest.raises(BadRequest) as caught:
        validate(model, data)
    assert caught.value.fields is not None
    return caught.value.message, caught.value.fields


def test_enum_errors_list_the_choices_at_a_dotted_path():
    message, fields = _fields(
        NetworkCreate,
        {
            "name": "n",
            "framework": "onnx",
            "preprocessing": {
                "inputs": [
                    {"tensor_name": "data", "image": {"target_size": "8", "resize_type": "x"}}
                ]
            },
        },
    )
    assert message == (
        "preprocessing.inputs[0].image.resize_type: must be one of SQUASH, CROP, FILL, NETWORK"
    )
    assert fields == {
        "preprocessing.inputs[0].image.resize_type": "must be one of SQUASH, CROP, FILL, NETWORK"
    }


def test_several_errors_each_get_a_field():
    message, fields = _fields(
        NetworkCreate,
        {
            "framework": "caffe",
            "preprocessing": {
                "inputs": [{"tensor_name": "", "image": {"target_size": "0x1", "extra": 1}}],
                "batched_output": "perhaps",
            },
        },
    )
    assert fields == {
        "name": "is required",
        "preprocessing.inputs[0].tensor_name": "must not be empty",
        "preprocessing.inputs[0].image.target_size": (
            "must be 'WxH' or 'N' with positive integers, e.g. '224x224'"
        ),
        "preprocessing.inputs[0].image.extra": "is not a known field",
        "preprocessing.batched_output": "must be true or false",
    }
    assert message.startswith("name: is required; preprocessing.inputs[0].tensor_name")


def test_union_member_tags_do_not_appear_in_paths():
    _, fields = _fields(
        InferenceRequest, {"inputs": [{"image": {"source": 3}}], "output_tensors": []}
    )
    assert fields == {
        "inputs[0].image.source": "must be a string",
        "output_tensors": "must have at least 1 item",
    }

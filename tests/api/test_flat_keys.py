from __future__ import annotations

import pytest

from vulcain.api._flat_keys import format_path, parse_key, unflatten
from vulcain.errors import BadRequest


@pytest.mark.parametrize(
    ("key", "segments"),
    [
        ("name", ["name"]),
        ("deploy.prototxt", ["deploy", "prototxt"]),
        ("preprocessing.inputs[0]tensor_name", ["preprocessing", "inputs", 0, "tensor_name"]),
        (
            "preprocessing.inputs[0].image.target_size",
            ["preprocessing", "inputs", 0, "image", "target_size"],
        ),
        ("inputs[12]image.bbox.xmin", ["inputs", 12, "image", "bbox", "xmin"]),
        ("output_tensors[0]", ["output_tensors", 0]),
        ("output_tensors[]", ["output_tensors"]),
        ("a[0][1]", ["a", 0, 1]),
    ],
)
def test_parse_key(key, segments):
    assert parse_key(key) == segments


@pytest.mark.parametrize("key", ["", "[0]", ".a", "a..b", "a[x]", "a[0", "a]"])
def test_parse_key_rejects_malformed_names(key):
    with pytest.raises(BadRequest):
        parse_key(key)


def test_format_path_is_the_inverse_for_dotted_paths():
    assert format_path(["preprocessing", "inputs", 0, "image", "resize_type"]) == (
        "preprocessing.inputs[0].image.resize_type"
    )


def test_unflatten_nests_the_official_client_keys():
    items = [
        ("name", "net"),
        ("preprocessing.inputs[0]tensor_name", "data"),
        ("preprocessing.inputs[0]image.target_size", "224x224"),
        ("preprocessing.inputs[1]tensor_name", "im_info"),
        ("preprocessing.batched_output", "True"),
        ("metadata.author", "me"),
    ]
    assert unflatten(items) == {
        "name": "net",
        "preprocessing": {
            "inputs": [
                {"tensor_name": "data", "image": {"target_size": "224x224"}},
                {"tensor_name": "im_info"},
            ],
            "batched_output": "True",
        },
        "metadata": {"author": "me"},
    }


def test_unflatten_orders_list_items_by_index_whatever_their_order():
    items = [("output_tensors[1]", "pool5"), ("output_tensors[0]", "prob")]
    assert unflatten(items) == {"output_tensors": ["prob", "pool5"]}


def test_unflatten_collects_repeated_keys():
    items = [("output_tensors", "prob"), ("output_tensors", "pool5"), ("output_tensors", "fc")]
    assert unflatten(items) == {"output_tensors": ["prob", "pool5", "fc"]}
    assert unflatten([("t[]", "a"), ("t[]", "b")]) == {"t": ["a", "b"]}


def test_unflatten_rejects_gaps_in_list_indices():
    with pytest.raises(BadRequest, match=r"inputs: list items must be numbered 0, 1, 2.*got 0, 2"):
        unflatten([("inputs[0]image.source", "a"), ("inputs[2]image.source", "b")])


@pytest.mark.parametrize(
    "items",
    [
        [("preprocessing", "{}"), ("preprocessing.batched_output", "True")],
        [("preprocessing.batched_output", "True"), ("preprocessing", "{}")],
        [("a[0]", "x"), ("a.b", "y")],
        [("a[0]", "x"), ("a[0]", "y")],
    ],
)
def test_unflatten_rejects_conflicting_keys(items):
    with pytest.raises(BadRequest):
        unflatten(items)

"""The official client, versions 0.9.4 and 1.0.0, unmodified, against a live Vulcain."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.client.identity import expected_identity
from tests.compat.official_client import BBOX, VERSIONS, run_flow
from vulcain.client import Client, ImageInput


@pytest.fixture(scope="module", params=VERSIONS)
def flow(request, compat_server, compat_inputs) -> dict[str, Any]:
    return run_flow(request.param, compat_server, compat_inputs)


@pytest.fixture(scope="module")
def ours(compat_server) -> Client:
    with Client(api_key=compat_server.api_key, host=compat_server.url) as client:
        yield client


def _ok(flow: dict[str, Any], step: str) -> Any:
    value = flow.get(step)
    assert not (isinstance(value, dict) and "exception" in value), (
        f"{step} raised {value.get('exception')}: {value.get('message')}\n{value.get('traceback')}"
    )
    return value


def test_create_with_files_and_preprocessing(flow):
    created = _ok(flow, "create")
    assert created["name"].endswith("-main")
    assert created["description"] == "created by deepomatic-api"
    assert created["metadata"] == {"author": "me", "project": "Go to mars"}
    assert created["framework"] == "onnx"
    image = created["preprocessing"]["inputs"][0]["image"]
    assert image["pixel_scaling"] == 255.0
    assert image["target_size"] == "8x6"
    assert created["preprocessing"]["batched_output"] is True
    assert created["create_date"]
    assert _ok(flow, "deploy_wait")["status"] == "success"


def test_retrieve_by_id_and_by_public_slug(flow):
    created = _ok(flow, "create")
    retrieved = _ok(flow, "retrieve_by_id")
    assert (retrieved["id"], retrieved["name"]) == (created["id"], created["name"])
    assert _ok(flow, "publish") in (200, 201)
    by_slug = _ok(flow, "retrieve_by_slug")
    assert by_slug["id"] == by_slug["public_id"] == flow["slug"]  # a public network's id
    assert by_slug["name"] == created["name"]


def test_list_private_and_public_across_pages(flow):
    created = _ok(flow, "create")
    extra = _ok(flow, "extra_ids")
    private = _ok(flow, "list_private")
    assert {created["id"], *extra[:2]} <= set(private)
    assert len(private) == len(set(private)) == _ok(flow, "list_private_count")
    assert len(private) > 2
    _ok(flow, "publish_extra")
    public = _ok(flow, "list_public")
    assert {flow["slug"], flow["slug"] + "-extra"} <= set(public)


def test_update(flow):
    updated = _ok(flow, "update")
    assert updated["name"].endswith("-renamed")
    assert updated["description"] == "new description"


def test_delete(flow):
    deleted = _ok(flow, "delete")
    assert deleted["status_code"] == 404
    assert deleted["body"]["error"]


@pytest.mark.parametrize(
    ("step", "bbox"),
    [
        ("infer_url", None),
        ("infer_file", None),
        ("infer_binary", None),
        ("infer_base64", None),
        ("infer_url_bbox", BBOX),
        ("infer_public", None),
        ("other_infer_public", None),
        ("owner_infer_public_list", None),
    ],
)
def test_inference_equals_ours_and_the_reference(flow, ours, compat_inputs, step, bbox):
    theirs = _ok(flow, step)["out"]
    expected = expected_identity(compat_inputs["image_bgr"], bbox)
    assert theirs["shape"] == list(expected.shape)
    theirs_array = np.asarray(theirs["data"], dtype=np.float32).reshape(theirs["shape"])
    np.testing.assert_allclose(theirs_array, expected, atol=1e-3)
    network = ours.Network.retrieve(_ok(flow, "create")["id"])
    our_result = network.inference(
        inputs=[ImageInput(compat_inputs["image_url"], bbox=bbox)], output_tensors=["out"]
    )
    np.testing.assert_array_equal(theirs_array, our_result["out"])


def test_a_second_account_uses_a_network_from_the_public_list(flow):
    slug = flow["slug"]
    listed = _ok(flow, "other_list_public")
    assert [slug, slug] in listed
    assert all(pk == public_id for pk, public_id in listed)  # every public id is its slug
    assert _ok(flow, "other_found_public") == slug
    _ok(flow, "other_infer_public")  # its tensors: test_inference_equals_ours_and_the_reference
    name = _ok(flow, "create")["name"]
    for step in ("other_retrieve_public", "other_refresh_public"):
        seen = _ok(flow, step)
        assert (seen["id"], seen["public_id"], seen["name"]) == (slug, slug, name)
    for step, action in (("other_update_public", "edit"), ("other_delete_public", "delete")):
        refused = _ok(flow, step)
        assert refused["status_code"] == 403
        error = refused["body"]["error"]
        assert f"Only the owner of network '{slug}' or an admin may {action} it" in error
        assert "run inference on it" in error
    after = _ok(flow, "other_after_refusals")
    assert (after["id"], after["name"]) == (slug, name)


def test_the_owner_edits_through_the_public_list(flow):
    assert _ok(flow, "owner_found_public") == flow["slug"]
    edited = _ok(flow, "owner_update_public")
    assert edited["id"] == flow["slug"]
    assert edited["description"] == "edited through the public list"


def test_task_wait(flow):
    waited = _ok(flow, "task_wait")
    assert waited["status"] == "success"
    tensor = waited["data"]["tensors"][0]
    assert tensor["name"] == "out"
    assert tensor["shape"] == tensor["dims"] == [1, 3, 6, 8]


def test_task_list_by_ids(flow):
    listed = _ok(flow, "task_list")
    assert sorted(listed["listed"]) == sorted(listed["asked"])


def test_batch_wait_over_twenty_inferences(flow):
    batch = _ok(flow, "batch_wait")
    assert batch["pending"] == [] and batch["error"] == []
    assert [pos for pos, _, _ in batch["success"]] == list(range(20))
    assert [task_id for _, task_id, _ in batch["success"]] == batch["ids"]
    assert {status for _, _, status in batch["success"]} == {"success"}


def test_empty_inputs_is_a_client_error_400(flow):
    refused = _ok(flow, "empty_inputs")
    assert refused["status_code"] == 400
    assert "error" in refused["body"]

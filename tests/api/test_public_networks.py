"""A published network seen through ``/networks/public/...``: its ``id`` is its slug in
every answer there (list, retrieve, edit), so whoever builds a URL from ``id`` stays on the
public paths; its owner still sees the integer id under ``/networks/{id}``."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from tests.api.conftest import Client, create_onnx
from vulcain.services import Services

SLUG = "example-cnn"


@pytest.fixture
def third(services: Services) -> dict[str, str]:
    """Headers of an account that neither owns the network nor is an admin."""
    _, key = services.accounts.create("third")
    return {"X-API-KEY": key}


@pytest.fixture
def published(client: Client, admin, other, onnx_files) -> dict:
    """A network of ``other`` (not an admin), deployed, then published by the admin."""
    created = create_onnx(client, other, onnx_files, name="owned by other").json()
    deployed = client.get(f"/v0.7/tasks/{created['task_id']}?wait=5", headers=other).json()
    assert deployed["status"] == "success", deployed
    answer = client.post(
        f"/v0.7/networks/{created['id']}/publish", headers=admin, json={"public_id": SLUG}
    )
    assert answer.status_code == 200, answer.text
    # publish is a private path: the integer id, and the slug as public_id
    assert (answer.json()["id"], answer.json()["public_id"]) == (created["id"], SLUG)
    return created


def _inference() -> dict:
    pixels = np.random.default_rng(3).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    png = cv2.imencode(".png", pixels)[1].tobytes()
    source = "data:image/*;base64," + base64.b64encode(png).decode()
    return {"inputs": [{"image": {"source": source}}], "output_tensors": ["out"]}


def _assert_public_view(body: dict, created: dict) -> None:
    assert body["id"] == SLUG
    assert body["public_id"] == SLUG
    assert (body["task_id"], body["framework"]) == (created["task_id"], "onnx")


def test_every_public_answer_has_the_slug_as_id(client, admin, other, third, published):
    for headers in (other, admin, third):  # the owner, an admin, anyone
        listing = client.get("/v0.7/networks/public", headers=headers)
        assert listing.status_code == 200, listing.text
        [item] = listing.json()["results"]
        _assert_public_view(item, published)
        # the id read from the list is the path of the public network, as is
        retrieved = client.get(f"/v0.7/networks/public/{item['id']}", headers=headers)
        assert retrieved.status_code == 200, retrieved.text
        _assert_public_view(retrieved.json(), published)
        assert retrieved.json() == item

    edited = client.patch(
        f"/v0.7/networks/public/{SLUG}", headers=other, json={"description": "by its owner"}
    )
    assert edited.status_code == 200, edited.text
    _assert_public_view(edited.json(), published)
    assert edited.json()["description"] == "by its owner"
    edited = client.patch(f"/v0.7/networks/public/{SLUG}/", headers=admin, json={"name": "admin"})
    assert edited.status_code == 200, edited.text
    _assert_public_view(edited.json(), published)


def test_the_owner_sees_the_integer_id_under_the_private_paths(client, other, published):
    mine = client.get(f"/v0.7/networks/{published['id']}", headers=other).json()
    assert (mine["id"], mine["public_id"]) == (published["id"], SLUG)
    [listed] = client.get("/v0.7/networks", headers=other).json()["results"]
    assert (listed["id"], listed["public_id"]) == (published["id"], SLUG)
    edited = client.patch(f"/v0.7/networks/{published['id']}", headers=other, json={"name": "n"})
    assert (edited.json()["id"], edited.json()["public_id"]) == (published["id"], SLUG)


def test_public_pages_link_and_list_slugs(client, admin, onnx_files):
    slugs = []
    for index in range(3):
        created = create_onnx(client, admin, onnx_files, name=f"n{index}").json()
        slugs.append(f"net-{index}")
        client.post(
            f"/v0.7/networks/{created['id']}/publish", headers=admin, json={"public_id": slugs[-1]}
        )
    seen = []
    page = client.get("/v0.7/networks/public?limit=2", headers=admin).json()
    while True:
        seen += [item["id"] for item in page["results"]]
        if page["next"] is None:
            break
        page = client.get(page["next"], headers=admin).json()
    assert seen == slugs


def test_inference_by_the_owner_on_both_paths_and_by_anyone_on_the_public_one(
    client, other, third, published
):
    for headers, path in (
        (other, f"/v0.7/networks/{published['id']}/inference"),
        (other, f"/v0.7/networks/public/{SLUG}/inference"),
        (third, f"/v0.7/networks/public/{SLUG}/inference"),
    ):
        answer = client.post(f"{path}?wait=5", headers=headers, json=_inference())
        assert answer.status_code == 200, answer.text
        task = answer.json()
        assert task["status"] == "success", task
        assert task["data"]["tensors"][0]["shape"] == [1, 3, 8, 8]
    assert task["name"] == f"inference on network {SLUG}"  # not the private id
    answer = client.post(
        f"/v0.7/networks/{published['id']}/inference", headers=third, json=_inference()
    )
    assert answer.status_code == 404


def test_another_account_may_not_edit_or_delete_it_and_is_told_why(client, third, published):
    for answer in (
        client.patch(f"/v0.7/networks/public/{SLUG}", headers=third, json={"name": "mine"}),
        client.delete(f"/v0.7/networks/public/{SLUG}", headers=third),
    ):
        assert answer.status_code == 403
        error = answer.json()["error"]
        assert f"Only the owner of network '{SLUG}' or an admin may" in error
        assert "run inference" in error
    assert client.get(f"/v0.7/networks/public/{SLUG}", headers=third).json()["name"] != "mine"


def test_openapi_types_the_id_of_each_view(client):
    document = client.get("/v0.7/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert schemas["Network"]["properties"]["id"]["type"] == "integer"
    assert schemas["PublicNetwork"]["properties"]["id"]["type"] == "string"
    assert schemas["PublicNetwork"]["properties"]["public_id"]["type"] == "string"

    def answer(path: str, method: str) -> str:
        content = document["paths"][path][method]["responses"]["200"]["content"]
        return content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]

    assert answer("/v0.7/networks/public/{public_id}", "get") == "PublicNetwork"
    assert answer("/v0.7/networks/public/{public_id}", "patch") == "PublicNetwork"
    assert answer("/v0.7/networks/{network_id}", "get") == "Network"
    assert answer("/v0.7/networks/{network_id}", "patch") == "Network"
    public_page = answer("/v0.7/networks/public", "get")
    items = schemas[public_page]["properties"]["results"]["items"]["$ref"]
    assert items.endswith("/PublicNetwork")
    private_page = answer("/v0.7/networks", "get")
    assert schemas[private_page]["properties"]["results"]["items"]["$ref"].endswith("/Network")

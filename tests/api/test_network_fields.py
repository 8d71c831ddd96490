"""The free-form fields of a network (metadata, description): bounded on the way in with a
400 that leaves nothing behind, and never a cause of failure on the way out."""

from __future__ import annotations

import json

from tests.api.conftest import PREPROCESSING, Client, create_onnx, footprint
from vulcain.db.models import NetworkRow


def _nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def _nested_text(levels: int) -> str:
    """``_nested(levels)`` as JSON, written without the recursion of ``json.dumps``."""
    return '{"a": ' * (levels - 1) + "{}" + "}" * (levels - 1)


def _create(client: Client, headers: dict, onnx_files, **fields: str):
    return client.post(
        "/v0.7/networks",
        headers=headers,
        data={
            "name": "net",
            "framework": "onnx",
            "preprocessing": json.dumps(PREPROCESSING),
            **fields,
        },
        files={"model.onnx": ("model.onnx", onnx_files["model.onnx"].read_bytes())},
    )


def test_deep_metadata_on_create_is_a_400_that_leaves_nothing(client, admin, onnx_files, services):
    before = footprint(services)
    for levels in (33, 300, 5000):
        response = _create(client, admin, onnx_files, metadata=_nested_text(levels))
        assert response.status_code == 400, (levels, response.text)
        assert "metadata" in response.json()["error"]
        assert "levels deep" in response.json()["error"], response.text
    assert footprint(services) == before
    assert client.get("/v0.7/networks", headers=admin).json()["count"] == 0
    # The configured depth itself is accepted.
    response = _create(client, admin, onnx_files, metadata=json.dumps(_nested(32)))
    assert response.status_code == 201, response.text
    assert response.json()["metadata"] == _nested(32)


def test_deep_metadata_on_patch_is_a_400_and_changes_nothing(client, admin, onnx_files):
    created = create_onnx(client, admin, onnx_files).json()
    url = f"/v0.7/networks/{created['id']}"
    response = client.patch(
        url,
        headers={**admin, "Content-Type": "application/json"},
        content=f'{{"metadata": {_nested_text(500)}}}'.encode(),
    )
    assert response.status_code == 400, response.text
    assert "VULCAIN_MAX_METADATA_DEPTH" in response.json()["error"]
    assert response.json()["fields"] == {"metadata": "nests more than 32 levels deep; flatten it"}
    response = client.patch(url, headers=admin, data={"metadata": json.dumps(_nested(40))})
    assert response.status_code == 400, response.text
    fetched = client.get(url, headers=admin)
    assert fetched.status_code == 200
    assert fetched.json()["metadata"] == {}


def test_json_nested_100k_levels_is_a_400_in_every_encoding(client, admin, onnx_files):
    created = create_onnx(client, admin, onnx_files).json()
    url = f"/v0.7/networks/{created['id']}"
    deep = "[" * 100_000 + "]" * 100_000
    for response in (
        client.patch(
            url,
            headers={**admin, "Content-Type": "application/json"},
            content=f'{{"metadata": {deep}}}'.encode(),
        ),
        # A JSON string part, and the same sent as a file part.
        client.patch(url, headers=admin, files={"metadata": (None, '{"a": ' + deep + "}")}),
        client.patch(url, headers=admin, files={"metadata": ("m.json", '{"a": ' + deep + "}")}),
        # Flattened keys, 100k levels of them.
        client.patch(url, headers=admin, files={"metadata" + ".a" * 100_000: (None, "x")}),
    ):
        assert response.status_code == 400, response.text
        assert response.json()["error"]
    assert client.get(url, headers=admin).json()["metadata"] == {}


def test_metadata_larger_than_the_setting_is_a_400(client, admin, onnx_files, services):
    limit = services.settings.max_metadata_bytes
    created = create_onnx(client, admin, onnx_files).json()
    url = f"/v0.7/networks/{created['id']}"
    response = client.patch(url, headers=admin, json={"metadata": {"blob": "x" * limit}})
    assert response.status_code == 400, response.text
    assert "VULCAIN_MAX_METADATA_BYTES" in response.json()["error"]
    fits = {"blob": "x" * (limit - len('{"blob":""}'))}
    assert client.patch(url, headers=admin, json={"metadata": fits}).status_code == 200


def test_reads_answer_metadata_stored_too_deep_to_be_shown(
    client, admin, other, onnx_files, services
):
    """A network stored before the limits existed, nested 300 levels deep (deeper than any
    JSON encoder of answers goes): each read still answers, and says what happened."""
    created = create_onnx(client, admin, onnx_files).json()
    published = client.post(
        f"/v0.7/networks/{created['id']}/publish", headers=admin, json={"public_id": "deep"}
    )
    assert published.status_code == 200, published.text
    with services.db.session() as session:
        session.get(NetworkRow, created["id"]).metadata_ = _nested(300)
    services.networks._catalog.forget(created["id"])
    for url, headers in (
        (f"/v0.7/networks/{created['id']}", admin),
        ("/v0.7/networks/public/deep", other),
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        assert "cannot be shown" in response.json()["metadata"]["vulcain_error"]
    for url, headers in (("/v0.7/networks", admin), ("/v0.7/networks/public", other)):
        listing = client.get(url, headers=headers)
        assert listing.status_code == 200, listing.text
        assert "vulcain_error" in listing.json()["results"][0]["metadata"]
    # Its owner can replace it.
    response = client.patch(
        f"/v0.7/networks/{created['id']}", headers=admin, json={"metadata": {"ok": 1}}
    )
    assert response.json()["metadata"] == {"ok": 1}


def test_a_description_longer_than_the_setting_is_a_400_on_create_and_patch(
    client, admin, onnx_files, services
):
    limit = services.settings.max_description_chars
    before = footprint(services)
    response = _create(client, admin, onnx_files, description="d" * (limit + 1))
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith(f"description: has {limit + 1} characters")
    assert "VULCAIN_MAX_DESCRIPTION_CHARS" in response.json()["error"]
    assert footprint(services) == before

    created = _create(client, admin, onnx_files, description="é" * limit)
    assert created.status_code == 201, created.text
    url = f"/v0.7/networks/{created.json()['id']}"
    response = client.patch(url, headers=admin, json={"description": "x" * (limit + 1)})
    assert response.status_code == 400, response.text
    assert response.json()["fields"] == {"description": f"longer than {limit} characters"}
    assert client.get(url, headers=admin).json()["description"] == "é" * limit

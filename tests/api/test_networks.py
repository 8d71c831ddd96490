"""Networks through the HTTP layer in-process: each body encoding, edit, delete, publish,
isolation between accounts, and bad inputs that leave nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.api.conftest import PREPROCESSING, Client, create_onnx
from vulcain.config import Settings


def _blobs(settings: Settings) -> list[Path]:
    root = settings.data_dir / "blobs"
    if not root.exists():
        return []
    return sorted(
        p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] != "tmp"
    )


def _assert_nothing_left(client: Client, headers: dict[str, str], settings: Settings) -> None:
    listing = client.get("/v0.7/networks", headers=headers).json()
    assert listing["count"] == 0
    assert _blobs(settings) == []


def _assert_network(body: dict, *, name: str = "net", metadata: dict | None = None) -> None:
    assert isinstance(body["id"], int)
    assert isinstance(body["task_id"], int)
    assert body["name"] == name
    assert body["framework"] == "onnx"
    assert body["metadata"] == (metadata or {})
    assert body["preprocessing"]["inputs"][0]["tensor_name"] == "data"
    assert body["preprocessing"]["inputs"][0]["image"]["target_size"] == "8x8"
    for key in ("description", "create_date", "update_date"):
        assert key in body
    assert body["update_date"].endswith("Z")


def test_create_with_json_string_parts_answers_201(client, admin, onnx_files):
    response = create_onnx(client, admin, onnx_files)
    assert response.status_code == 201, response.text
    _assert_network(response.json())
    fetched = client.get(f"/v0.7/networks/{response.json()['id']}", headers=admin)
    assert fetched.json() == response.json()


def test_create_with_flattened_keys_and_text_scalars(client, admin, onnx_files):
    """What deepomatic-api sends: flattened keys, scalars as text (some labelled JSON), the
    file part named by the file name with a different filename."""
    response = client.post(
        "/v0.7/networks/",
        headers=admin,
        data={
            "name": "net",
            "description": "trained with more images",
            "framework": "onnx",
            "metadata.author": "me",
            "metadata.project": "Go to mars",
            "preprocessing.inputs[0]tensor_name": "data",
            "preprocessing.inputs[0]image.target_size": "8x8",
            "preprocessing.inputs[0]image.resize_type": "FILL",
            "preprocessing.inputs[0]image.color_channels": "RGB",
        },
        files=[
            ("preprocessing.inputs[0]image.pixel_scaling", (None, b"1.0", "application/json")),
            ("preprocessing.batched_output", (None, b"False", "application/json")),
            ("model.onnx", ("tmpXYZ.bin", onnx_files["model.onnx"].read_bytes())),
        ],
    )
    assert response.status_code == 201, response.text
    body = response.json()
    _assert_network(body, metadata={"author": "me", "project": "Go to mars"})
    assert body["description"] == "trained with more images"
    image = body["preprocessing"]["inputs"][0]["image"]
    assert (image["resize_type"], image["color_channels"], image["pixel_scaling"]) == (
        "FILL",
        "RGB",
        1.0,
    )
    assert body["preprocessing"]["batched_output"] is False


def test_create_with_json_body_has_no_files_and_says_which_is_missing(client, admin, api_settings):
    response = client.post(
        "/v0.7/networks",
        headers=admin,
        json={"name": "net", "framework": "onnx", "preprocessing": PREPROCESSING},
    )
    assert response.status_code == 400
    assert "model.onnx" in response.json()["error"]
    _assert_nothing_left(client, admin, api_settings)


def _multipart(client: Client, headers, files, preprocessing=None, **fields):
    data = {"name": "net", "framework": "onnx", **fields}
    data["preprocessing"] = (
        preprocessing
        if isinstance(preprocessing, str)
        else json.dumps(preprocessing or PREPROCESSING)
    )
    return client.post("/v0.7/networks", headers=headers, data=data, files=files)


def _with_mean(mean_file: str) -> dict:
    preprocessing = json.loads(json.dumps(PREPROCESSING))
    preprocessing["inputs"][0]["image"]["mean_file"] = mean_file
    return preprocessing


@pytest.mark.parametrize(
    ("case", "fields", "preprocessing", "extra_files", "drop_model", "expected"),
    [
        ("broken JSON", {}, '{"inputs": [', {}, False, "preprocessing: must be an object in JSON"),
        (
            "unknown framework",
            {"framework": "caffe2"},
            None,
            {},
            False,
            "framework: must be one of nv-caffe-0.x-mod, tensorflow-1.x, onnx, not 'caffe2'.",
        ),
        (
            "blank name",
            {"name": "   "},
            None,
            {},
            False,
            "name: a network needs a name of 1 to 255 characters.",
        ),
        ("name too long", {"name": "n" * 256}, None, {}, False, "1 to 255 characters"),
        ("missing file", {}, None, {}, True, "model.onnx"),
        ("file named ../x", {}, None, {"../x": b"x"}, False, "../x"),
        (
            "mean of another extension",
            {},
            _with_mean("mean.txt"),
            {"mean.txt": b"x"},
            False,
            "preprocessing.inputs[0].image.mean_file: must end in .binaryproto or .npy",
        ),
        ("mean not uploaded", {}, _with_mean("mean.npy"), {}, False, "mean.npy"),
        (
            "bad enum",
            {},
            {
                "inputs": [
                    {"tensor_name": "data", "image": {"target_size": "8", "resize_type": "STRETCH"}}
                ]
            },
            {},
            False,
            "preprocessing.inputs[0].image.resize_type: must be one of SQUASH, CROP, FILL, NETWORK",
        ),
    ],
)
def test_bad_create_is_a_400_sentence_and_leaves_nothing(
    client,
    admin,
    onnx_files,
    api_settings,
    case,
    fields,
    preprocessing,
    extra_files,
    drop_model,
    expected,
):
    files = {name: (name, content) for name, content in extra_files.items()}
    if not drop_model:
        files["model.onnx"] = ("model.onnx", onnx_files["model.onnx"].read_bytes())
    response = _multipart(client, admin, files, preprocessing, **fields)
    assert response.status_code == 400, (case, response.text)
    assert expected in response.json()["error"], case
    _assert_nothing_left(client, admin, api_settings)


def test_patch_changes_name_description_and_metadata(client, admin, onnx_files):
    created = create_onnx(client, admin, onnx_files).json()
    url = f"/v0.7/networks/{created['id']}/"
    # The seed's curl example: JSON sent by `curl -d`, labelled form-urlencoded.
    response = client.patch(
        url,
        headers={**admin, "Content-Type": "application/x-www-form-urlencoded"},
        content=b'{"name": "new name", "description":"new description"}',
    )
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["description"]) == (
        "new name",
        "new description",
    )
    response = client.patch(url, headers=admin, data={"metadata.stage": "prod"})
    assert response.json()["metadata"] == {"stage": "prod"}
    assert response.json()["name"] == "new name"
    response = client.patch(url, headers=admin, json={"metadata": {"a": [1, 2]}})
    assert response.json()["metadata"] == {"a": [1, 2]}


@pytest.mark.parametrize("field", ["framework", "preprocessing"])
def test_patch_of_an_immutable_field_is_a_400(client, admin, onnx_files, field):
    created = create_onnx(client, admin, onnx_files).json()
    value = "tensorflow-1.x" if field == "framework" else PREPROCESSING
    response = client.patch(
        f"/v0.7/networks/{created['id']}", headers=admin, json={"name": "x", field: value}
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{field} cannot be changed")
    assert client.get(f"/v0.7/networks/{created['id']}", headers=admin).json()["name"] == "net"


def test_delete_answers_204_without_body_and_removes_files(client, admin, onnx_files, api_settings):
    created = create_onnx(client, admin, onnx_files).json()
    assert _blobs(api_settings)
    response = client.delete(f"/v0.7/networks/{created['id']}/", headers=admin)
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"/v0.7/networks/{created['id']}", headers=admin).status_code == 404
    _assert_nothing_left(client, admin, api_settings)


def test_a_second_account_sees_nothing_of_the_first_but_reads_published(
    client, admin, other, onnx_files
):
    created = create_onnx(client, admin, onnx_files).json()
    url = f"/v0.7/networks/{created['id']}"
    inference = {
        "inputs": [{"image": {"source": "https://example.com/a.jpg"}}],
        "output_tensors": ["out"],
    }
    for response in (
        client.get(url, headers=other),
        client.patch(url, headers=other, json={"name": "stolen"}),
        client.delete(url, headers=other),
        client.post(f"{url}/inference", headers=other, json=inference),
        client.get(f"/v0.7/tasks/{created['task_id']}", headers=other),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]
    assert client.get("/v0.7/networks", headers=other).json()["count"] == 0
    listed = client.get(f"/v0.7/tasks?task_ids={created['task_id']}", headers=other).json()
    assert listed["count"] == 0

    published = client.post(f"{url}/publish", headers=admin, json={"public_id": "tiny-identity"})
    assert published.status_code == 200, published.text
    assert published.json()["public_id"] == "tiny-identity"
    public = client.get("/v0.7/networks/public/tiny-identity/", headers=other)
    assert public.status_code == 200
    assert public.json()["id"] == "tiny-identity"  # a public network's id is its slug
    listing = client.get("/v0.7/networks/public", headers=other).json()
    assert [network["id"] for network in listing["results"]] == ["tiny-identity"]
    # Reading is not owning: the other account may neither edit nor delete it.
    assert (
        client.patch(
            "/v0.7/networks/public/tiny-identity", headers=other, json={"name": "x"}
        ).status_code
        == 403
    )
    assert client.delete("/v0.7/networks/public/tiny-identity", headers=other).status_code == 403
    assert client.get(url, headers=other).status_code == 404


def test_publish_is_for_admins_only(client, admin, other, onnx_files):
    created = create_onnx(client, other, onnx_files).json()
    response = client.post(
        f"/v0.7/networks/{created['id']}/publish", headers=other, json={"public_id": "mine"}
    )
    assert response.status_code == 403
    assert "admin" in response.json()["error"]
    response = client.post(
        f"/v0.7/networks/{created['id']}/publish", headers=admin, data={"public_id": "mine"}
    )
    assert response.status_code == 200
    assert client.get("/v0.7/networks/public/mine", headers=admin).json()["id"] == "mine"


def test_a_string_id_under_private_networks_is_a_404_with_a_hint(client, admin):
    response = client.get("/v0.7/networks/imagenet-inception-v1", headers=admin)
    assert response.status_code == 404
    assert "/v0.7/networks/public/imagenet-inception-v1" in response.json()["error"]
    assert client.get("/v0.7/networks/99999999999999999999999", headers=admin).status_code == 404

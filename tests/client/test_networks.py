from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.client.identity import IDENTITY_PREPROCESSING
from tests.servers import VulcainServer
from vulcain.client import Client, ClientError, Network, TaskError


def _create(client: Client, files: dict[str, Path], name: str | None = None) -> Network:
    return client.Network.create(
        name=name or "net-" + secrets.token_hex(4),
        framework="onnx",
        preprocessing=IDENTITY_PREPROCESSING,
        files=files,
        description="an identity",
        metadata={"author": "me", "nested": {"epochs": 3}},
    )


def test_create_uploads_files_and_returns_the_network(client, identity_files):
    network = _create(client, identity_files, name="created")
    assert isinstance(network.id, int)
    assert network.name == network["name"] == "created"
    assert network.description == "an identity"
    assert network.metadata == {"author": "me", "nested": {"epochs": 3}}
    assert network.framework == "onnx"
    assert network.preprocessing["inputs"][0]["tensor_name"] == "data"
    assert network.preprocessing["inputs"][0]["image"]["target_size"] == "8x6"
    assert network.preprocessing["batched_output"] is True
    assert network.create_date and network.update_date
    task = network.deployment().wait(timeout=120)
    assert task.id == network.task_id
    assert task.status == "success"


def test_create_from_open_files(client, identity_files):
    with identity_files["model.onnx"].open("rb") as model:
        network = _create(client, {"model.onnx": model})
    assert network.deployment().wait(timeout=120).status == "success"


def test_retrieve_by_id_update_and_delete(client, identity_files):
    network = _create(client, identity_files)
    fetched = client.Network.retrieve(network.id)
    assert fetched.data["name"] == network.name
    fetched.update(name="renamed", metadata={"v": 2})
    assert fetched.name == "renamed"
    assert fetched.description == "an identity"
    assert client.Network.retrieve(network.id).metadata == {"v": 2}
    fetched.update(description="longer text")
    assert client.Network.retrieve(network.id).description == "longer text"
    fetched.delete()
    with pytest.raises(ClientError) as caught:
        client.Network.retrieve(network.id)
    assert caught.value.status_code == 404
    assert caught.value.error


def test_list_iterates_across_pages(client, identity_files):
    created = {_create(client, identity_files).id for _ in range(5)}
    listed = [network.id for network in client.Network.list(page_size=2)]
    assert created <= set(listed)
    assert listed == sorted(listed)
    assert len(listed) == len(set(listed))
    assert listed == [network.id for network in client.Network.list()]


def test_public_network_by_slug(client, server: VulcainServer, identity_files):
    network = _create(client, identity_files)
    network.deployment().wait(timeout=120)
    slug = "identity-" + secrets.token_hex(3)
    server.publish(network.id, slug)
    public = client.Network.retrieve(slug)
    assert public.id == public.public_id == slug  # a public network's id is its slug
    assert public.name == network.name
    assert slug in {item.id for item in client.Network.list(public=True, page_size=1)}
    mine = client.Network.retrieve(network.id)
    assert (mine.id, mine.public_id) == (network.id, slug)


def test_missing_required_file_is_a_client_error_naming_it(client, identity_files, tmp_path):
    mean = tmp_path / "mean.npy"
    mean.write_bytes(b"\x93NUMPY")
    with pytest.raises(ClientError) as caught:
        client.Network.create(
            name="no model",
            framework="onnx",
            preprocessing=IDENTITY_PREPROCESSING,
            files={"mean.npy": mean},
        )
    assert caught.value.status_code == 400
    assert "model.onnx" in caught.value.error


def test_unknown_framework_is_a_client_error(client, identity_files):
    with pytest.raises(ClientError) as caught:
        client.Network.create(
            name="x",
            framework="pytorch",
            preprocessing=IDENTITY_PREPROCESSING,
            files=identity_files,
        )
    assert caught.value.status_code == 400
    assert "framework" in caught.value.error


def test_broken_network_fails_deployment_with_a_task_error(client, tmp_path):
    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"this is not an onnx protobuf")
    network = _create(client, {"model.onnx": broken})
    with pytest.raises(TaskError) as caught:
        network.deployment().wait(timeout=120)
    assert caught.value.task.id == network.task_id
    assert caught.value.error


def test_missing_local_file_fails_before_any_request(client, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"model\.onnx"):
        client.Network.create(
            name="x",
            framework="onnx",
            preprocessing=IDENTITY_PREPROCESSING,
            files={"model.onnx": tmp_path / "absent.onnx"},
        )


def test_create_with_a_progress_bar(client, identity_files, capsys):
    network = client.Network.create(
        name="with progress",
        framework="onnx",
        preprocessing=IDENTITY_PREPROCESSING,
        files=identity_files,
        progress=True,
    )
    assert network.deployment().wait(timeout=120).status == "success"
    size = identity_files["model.onnx"].stat().st_size
    err = capsys.readouterr().err
    assert "uploading" in err
    assert f"{size}/{size} bytes" in err

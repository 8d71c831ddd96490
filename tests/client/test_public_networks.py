"""Public networks through Vulcain's client and a real server: an object fetched through
the public paths has its slug as ``id`` and keeps every request on those paths."""

from __future__ import annotations

import secrets

import numpy as np
import pytest

from tests.client.identity import IDENTITY_PREPROCESSING, expected_identity
from tests.servers import FlakyProxy, VulcainServer
from vulcain.client import Client, ClientError, ImageInput, Network


def _published(client: Client, server: VulcainServer, identity_files) -> tuple[Network, str]:
    network = client.Network.create(
        name="public-" + secrets.token_hex(4),
        framework="onnx",
        preprocessing=IDENTITY_PREPROCESSING,
        files=identity_files,
    )
    network.deployment().wait(timeout=120)
    slug = "public-" + secrets.token_hex(4)
    server.publish(network.id, slug)
    return network, slug


def _infer(network: Network, image: bytes, image_bgr: np.ndarray) -> None:
    result = network.inference(
        inputs=[ImageInput(image, encoding="binary")], output_tensors=["out"]
    )
    np.testing.assert_allclose(result["out"], expected_identity(image_bgr), atol=1e-3)


def _paths(proxy: FlakyProxy) -> list[tuple[str, str]]:
    return [(method, path.split("?")[0]) for method, path in proxy.seen]


def test_another_account_uses_a_network_from_the_public_list(
    client, server, proxy, identity_files, image_dir, image_bgr
):
    network, slug = _published(client, server, identity_files)
    image = (image_dir / "image.png").read_bytes()
    with Client(api_key=server.create_account("reader"), host=proxy.url) as other:
        [found] = [item for item in other.Network.list(public=True) if item.public_id == slug]
        assert found.id == slug
        _infer(found, image, image_bgr)
        assert found.refresh().id == slug
        assert other.Network.retrieve(found.id).name == network.name
        for action, verb in (
            (lambda: found.update(name="taken over"), "edit"),
            (found.delete, "delete"),
        ):
            with pytest.raises(ClientError) as caught:
                action()
            assert caught.value.status_code == 403
            assert (
                f"Only the owner of network '{slug}' or an admin may {verb} it"
                in caught.value.error
            )
        assert other.Network.retrieve(slug).name == network.name
    network_paths = [path for _, path in _paths(proxy) if path.startswith("/v0.7/networks")]
    assert ("POST", f"/v0.7/networks/public/{slug}/inference") in _paths(proxy)
    assert ("PATCH", f"/v0.7/networks/public/{slug}") in _paths(proxy)
    assert ("DELETE", f"/v0.7/networks/public/{slug}") in _paths(proxy)
    assert all(path.startswith("/v0.7/networks/public") for path in network_paths)


def test_the_owner_works_through_either_path(
    proxied, proxy, server, identity_files, image_dir, image_bgr
):
    network, slug = _published(proxied, server, identity_files)
    image = (image_dir / "image.png").read_bytes()
    mine = proxied.Network.retrieve(network.id)
    public = proxied.Network.retrieve(slug)
    assert (mine.id, mine.public_id, public.id, public.public_id) == (network.id, slug, slug, slug)
    proxy.seen.clear()
    _infer(mine, image, image_bgr)
    _infer(public, image, image_bgr)
    public.update(description="edited by its owner")
    assert (public.id, public.description) == (slug, "edited by its owner")
    assert mine.refresh().description == "edited by its owner"
    paths = _paths(proxy)
    assert ("POST", f"/v0.7/networks/{network.id}/inference") in paths
    assert ("POST", f"/v0.7/networks/public/{slug}/inference") in paths
    assert ("PATCH", f"/v0.7/networks/public/{slug}") in paths
    assert ("GET", f"/v0.7/networks/{network.id}") in paths
    public.delete()
    with pytest.raises(ClientError) as caught:
        mine.refresh()
    assert caught.value.status_code == 404

from __future__ import annotations

import secrets
import socket

import pytest

from tests.client.identity import IDENTITY_PREPROCESSING
from tests.servers import free_port, hang_up_server
from vulcain.client import Client, ClientError, ServerError, TransportError


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_until_the_server_answers(
    proxied, proxy, identity_network, status
):
    proxy.fail_next, proxy.status = 2, status
    network = proxied.Network.retrieve(identity_network.id)
    assert network.id == identity_network.id
    assert proxy.requests_to("GET", f"/v0.7/networks/{identity_network.id}") == 3


def test_retries_give_up_with_the_last_server_error(proxied, proxy, identity_network):
    proxy.fail_next = 100
    with pytest.raises(ServerError) as caught:
        proxied.Network.retrieve(identity_network.id)
    assert caught.value.status_code == 503
    assert caught.value.error == "upstream unavailable"
    assert proxy.requests_to("GET", "/v0.7/networks/") == 4


def test_a_500_is_not_retried(proxied, proxy, identity_network):
    proxy.fail_next, proxy.status = 1, 500
    with pytest.raises(ServerError) as caught:
        proxied.Network.retrieve(identity_network.id)
    assert caught.value.status_code == 500
    assert proxy.requests_to("GET", "/v0.7/networks/") == 1


def test_create_is_sent_once_even_when_its_answer_is_lost(proxied, proxy, client, identity_files):
    """The proxy forwards the upload, then answers 502: a retry would create a twin."""
    proxy.fail_next, proxy.status, proxy.forward_failures = 1, 502, True
    name = "once-" + secrets.token_hex(4)
    with pytest.raises(ServerError) as caught:
        proxied.Network.create(
            name=name, framework="onnx", preprocessing=IDENTITY_PREPROCESSING, files=identity_files
        )
    assert caught.value.status_code == 502
    assert proxy.requests_to("POST", "/v0.7/networks") == 1
    assert [n.name for n in client.Network.list()].count(name) == 1


def test_connection_errors_are_retried_then_raised_as_transport_error(server):
    with hang_up_server() as (url, accepted):
        client = Client(api_key=server.api_key, host=url, max_retries=2)
        with client, pytest.raises(TransportError) as caught:
            client.Network.retrieve(1)
        assert accepted[0] == 3
    assert url in caught.value.request_url


def test_nothing_listening_is_a_transport_error_naming_the_url(server):
    port = free_port()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    client = Client(api_key=server.api_key, host=f"http://127.0.0.1:{port}", max_retries=1)
    with client, pytest.raises(TransportError, match=f"127.0.0.1:{port}"):
        list(client.Network.list())


def test_wrong_key_is_a_401_client_error_with_the_server_sentence(server):
    client = Client(api_key="wrong-key", host=server.url)
    with client, pytest.raises(ClientError) as caught:
        client.Network.retrieve(1)
    assert caught.value.status_code == 401
    assert caught.value.error
    assert caught.value.error in str(caught.value)


def test_validation_errors_carry_the_field(client, identity_files):
    broken = {
        "inputs": [
            {"tensor_name": "data", "image": {"target_size": "224x224", "resize_type": "STRETCH"}}
        ]
    }
    with pytest.raises(ClientError) as caught:
        client.Network.create(
            name="bad", framework="onnx", preprocessing=broken, files=identity_files
        )
    assert caught.value.status_code == 400
    assert "resize_type" in caught.value.error


def test_account_of_the_key(client):
    account = client.account()
    assert account["id"]

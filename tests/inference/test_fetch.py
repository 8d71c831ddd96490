"""Image URLs fetched from a real local HTTP server, and the private-address guard."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time

import cv2
import numpy as np
import pytest

from tests.settings import fetch_policy
from vulcain.errors import FetchError, VulcainError
from vulcain.inference._address_guard import refusal_reason
from vulcain.inference.sources import decode_image, read_source

LOCAL = fetch_policy(fetch_allow_hosts="127.0.0.1")


def test_loopback_is_refused_by_default_without_a_request(image_server):
    with pytest.raises(FetchError, match=r"points to 127\.0\.0\.1, a loopback address") as raised:
        read_source(image_server.url("/image.jpg"), fetch_policy())
    assert "VULCAIN_FETCH_ALLOW_HOSTS" in raised.value.message
    assert isinstance(raised.value, VulcainError)
    assert image_server.requests == []


def test_allow_hosts_admits_the_local_server(image_server):
    data = read_source(image_server.url("/image.jpg"), LOCAL)
    assert data == image_server.image
    np.testing.assert_array_equal(
        decode_image(data, 10**8), cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    )


def test_allow_hosts_takes_cidrs(image_server):
    policy = fetch_policy(fetch_allow_hosts="10.0.0.0/8,127.0.0.0/8")
    assert read_source(image_server.url("/image.jpg"), policy) == image_server.image


def test_a_name_resolving_to_loopback_is_refused(image_server):
    with pytest.raises(FetchError, match=r"points to localhost, which resolves to .*loopback"):
        read_source(image_server.url("/image.jpg", host="localhost"), fetch_policy())
    assert image_server.requests == []


def test_an_allowed_name_connects_to_its_checked_address_with_its_host_header(image_server):
    policy = fetch_policy(fetch_allow_hosts="localhost")
    url = image_server.url("/image.jpg", host="localhost")
    assert read_source(url, policy) == image_server.image
    assert image_server.requests == [("/image.jpg", f"localhost:{image_server.port}")]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "a cloud metadata address"),
        ("http://10.1.2.3/x.jpg", "a private address"),
        ("http://[::1]/x.jpg", "a loopback address"),
        ("http://[::ffff:127.0.0.1]/x.jpg", "a loopback address"),
        ("http://0.0.0.0/x.jpg", "an unspecified address"),
        ("http://224.0.0.1/x.jpg", "a multicast address"),
        ("http://100.64.0.1/x.jpg", "non-public"),
    ],
)
def test_private_and_metadata_addresses_are_refused_before_any_connection(monkeypatch, url, reason):
    def no_connection(*args, **kwargs):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    started = time.perf_counter()
    with pytest.raises(FetchError, match=reason):
        read_source(url, fetch_policy(fetch_timeout_seconds=5))
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("8.8.8.8", False),
        ("2001:4860:4860::8888", False),
        ("192.168.1.1", True),
        ("172.16.0.1", True),
        ("169.254.1.1", True),
        ("fe80::1", True),
        ("64:ff9b::7f00:1", True),
        ("2002:7f00:1::", True),
        ("100.100.100.200", True),
        ("255.255.255.255", True),
    ],
)
def test_refusal_reasons(address, refused):
    assert (refusal_reason(ipaddress.ip_address(address)) is not None) is refused


def test_redirects_are_followed_and_checked(image_server):
    assert read_source(image_server.url("/redirect//image.jpg"), LOCAL) == image_server.image
    assert [path for path, _ in image_server.requests] == ["/redirect//image.jpg", "/image.jpg"]


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://10.9.8.7/x.jpg"]
)
def test_a_redirect_to_a_private_address_is_refused(image_server, target):
    with pytest.raises(FetchError, match=r"leads to|points to (169\.254\.169\.254|10\.9\.8\.7)"):
        read_source(image_server.url(f"/redirect/{target}"), LOCAL)
    assert len(image_server.requests) == 1


def test_a_redirect_to_another_scheme_is_refused(image_server):
    with pytest.raises(FetchError, match="only http:// and https://"):
        read_source(image_server.url("/redirect/file:///etc/passwd"), LOCAL)


def test_redirect_loops_stop(image_server):
    with pytest.raises(FetchError, match="redirects more than 5 times"):
        read_source(image_server.url("/loop"), LOCAL)
    assert len(image_server.requests) == 6


def test_the_byte_cap_refuses_a_declared_size(image_server):
    policy = fetch_policy(fetch_allow_hosts="127.0.0.1", fetch_max_bytes=100)
    with pytest.raises(FetchError, match="larger than the 100 bytes"):
        read_source(image_server.url("/image.jpg"), policy)


def test_the_byte_cap_stops_a_stream_without_a_declared_size(image_server):
    policy = fetch_policy(fetch_allow_hosts="127.0.0.1", fetch_max_bytes=50_000)
    with pytest.raises(FetchError, match="larger than the 50000 bytes"):
        read_source(image_server.url("/unsized"), policy)
    assert len(read_source(image_server.url("/unsized"), LOCAL)) == 200_000


def test_a_slow_server_times_out(image_server):
    policy = fetch_policy(fetch_allow_hosts="127.0.0.1", fetch_timeout_seconds=0.3)
    started = time.perf_counter()
    with pytest.raises(FetchError, match=r"took longer than 0\.3 s"):
        read_source(image_server.url("/slow"), policy)
    assert time.perf_counter() - started < 1.2


def test_an_error_status_is_reported(image_server):
    with pytest.raises(FetchError, match="answered HTTP 404"):
        read_source(image_server.url("/missing.jpg"), LOCAL)


def test_an_unresolvable_host_is_reported():
    with pytest.raises(FetchError, match="cannot be resolved"):
        read_source("http://no-such-host.invalid/cat.jpg", fetch_policy())


def self_signed_certificate(directory, name: str) -> tuple[str, str]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def test_https_sends_the_host_name_as_sni_and_verifies_the_certificate(tmp_path):
    cert, key = self_signed_certificate(tmp_path, "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server_names: list[str | None] = []
    context.sni_callback = lambda connection, name, ctx: server_names.append(name)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept_once() -> None:
        connection, _ = listener.accept()
        try:
            with context.wrap_socket(connection, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=accept_once, daemon=True)
    thread.start()
    try:
        with pytest.raises(FetchError, match=r"cannot be fetched: .*CERTIFICATE_VERIFY_FAILED"):
            read_source(
                f"https://localhost:{port}/image.jpg", fetch_policy(fetch_allow_hosts="localhost")
            )
    finally:
        thread.join(timeout=5)
        listener.close()
    assert server_names == ["localhost"]

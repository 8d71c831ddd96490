"""Fetching an image URL safely: a byte cap, a time limit, and the address guard.

The time limit bounds the whole fetch, from resolving the host name to the last byte of
the last redirect (:mod:`vulcain.inference._deadline`).

Host names are resolved here and the connection goes to the checked address (with the
name kept for the ``Host`` header and TLS), so a DNS answer that changes between the check
and the connection cannot reach a private address. Redirects are followed here too, each
hop checked again.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import time
from typing import TYPE_CHECKING

import certifi
import httpx

from vulcain.errors import FetchError
from vulcain.inference._address_guard import AllowList, IPAddress, refusal_reason
from vulcain.inference._deadline import ResolutionTimeout, deadline_client, resolve

if TYPE_CHECKING:
    from vulcain.inference.sources import FetchPolicy

MAX_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_GUARD_HINT = (
    "image URLs may not reach loopback, private, link-local or metadata addresses "
    "unless VULCAIN_FETCH_ALLOW_HOSTS admits them"
)


def shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())


@functools.lru_cache(maxsize=16)
def _allow_list(entries: tuple[str, ...]) -> AllowList:
    return AllowList.parse(entries)


def fetch_url(url: str, policy: FetchPolicy) -> bytes:
    """Download ``url`` under ``policy``; every refusal is a :class:`FetchError`."""
    allow = _allow_list(policy.allow_hosts)
    deadline = time.monotonic() + policy.timeout_s
    current = _parse(url, url)
    with deadline_client(deadline, _tls_context()) as client:
        for _ in range(MAX_REDIRECTS + 1):
            addresses = _checked_addresses(current, allow, url, policy, deadline)
            location = _get_any(client, current, addresses, policy, deadline, url)
            if isinstance(location, bytes):
                return location
            current = _parse(str(current.join(location)), url)
    raise FetchError(f"the image URL {shorten(url)} redirects more than {MAX_REDIRECTS} times.")


def _parse(text: str, original: str) -> httpx.URL:
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise FetchError(f"the image URL {shorten(original)} is not a valid URL ({exc}).") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchError(
            f"the image URL {shorten(original)} leads to {shorten(text)}: only http:// and "
            "https:// URLs with a host can be fetched."
        )
    return parsed


def _get_any(
    client: httpx.Client,
    target: httpx.URL,
    addresses: list[IPAddress],
    policy: FetchPolicy,
    deadline: float,
    original: str,
) -> bytes | str:
    """Try each permitted address in turn, as a browser falls back from IPv6 to IPv4."""
    for address in addresses[:-1]:
        try:
            return _get(client, target, address, policy, deadline, original)
        except _Unreachable:
            continue
    try:
        return _get(client, target, addresses[-1], policy, deadline, original)
    except _Unreachable as exc:
        raise FetchError(
            f"the image URL {shorten(original)} cannot be fetched: {exc.__cause__}."
        ) from exc.__cause__


class _Unreachable(Exception):
    """No connection could be made to one address."""


def _checked_addresses(
    target: httpx.URL, allow: AllowList, original: str, policy: FetchPolicy, deadline: float
) -> list[IPAddress]:
    host = target.host
    name_allowed = allow.admits_name(host)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        candidates = [literal]
    else:
        try:
            infos = resolve(target.raw_host.decode("ascii"), target.port, deadline)
        except ResolutionTimeout as exc:
            raise _timed_out(original, policy) from exc
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(
                f"the host {host} of the image URL {shorten(original)} cannot be resolved."
            ) from exc
        candidates = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    permitted: list[IPAddress] = []
    refusals: list[str] = []
    for address in dict.fromkeys(candidates):
        reason = refusal_reason(address)
        if reason is None or name_allowed or allow.admits_address(address):
            permitted.append(address)
        else:
            refusals.append(reason if literal is not None else f"{address} ({reason})")
    if permitted:
        return permitted
    where = f"{host}," if literal is not None else f"{host}, which resolves to"
    raise FetchError(
        f"the image URL {shorten(original)} points to {where} {', '.join(refusals)}: {_GUARD_HINT}."
    )


def _get(
    client: httpx.Client,
    target: httpx.URL,
    address: IPAddress,
    policy: FetchPolicy,
    deadline: float,
    original: str,
) -> bytes | str:
    """One request to ``address``: the body, or the ``Location`` of a redirect."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _timed_out(original, policy)
    pinned = target.copy_with(host=str(address))
    headers = {"Host": target.netloc.decode("ascii"), "Accept-Encoding": "identity"}
    request = client.build_request(
        "GET",
        pinned,
        headers=headers,
        timeout=httpx.Timeout(remaining),
        extensions={"sni_hostname": target.raw_host.decode("ascii")}
        if target.scheme == "https"
        else {},
    )
    try:
        response = client.send(request, stream=True)
        try:
            return _read(response, policy, deadline, original)
        finally:
            response.close()
    except httpx.TimeoutException as exc:
        raise _timed_out(original, policy) from exc
    except httpx.ConnectError as exc:
        raise _Unreachable() from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"the image URL {shorten(original)} cannot be fetched: {exc}.") from exc


def _read(
    response: httpx.Response, policy: FetchPolicy, deadline: float, original: str
) -> bytes | str:
    status = response.status_code
    if status in _REDIRECT_STATUSES:
        location: str | None = response.headers.get("location")
        if not location:
            raise FetchError(
                f"the image URL {shorten(original)} answered a redirect ({status}) "
                "without a Location."
            )
        return location
    if not 200 <= status < 300:
        raise FetchError(f"the image URL {shorten(original)} answered HTTP {status}.")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise _too_large(original, policy)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > policy.max_bytes:
            raise _too_large(original, policy)
        if time.monotonic() > deadline:
            raise _timed_out(original, policy)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(original: str, policy: FetchPolicy) -> FetchError:
    return FetchError(
        f"the image at {shorten(original)} is larger than the {policy.max_bytes} bytes "
        "an image URL may return."
    )


def _timed_out(original: str, policy: FetchPolicy) -> FetchError:
    return FetchError(
        f"fetching the image URL {shorten(original)} took longer than {policy.timeout_s:g} s."
    )

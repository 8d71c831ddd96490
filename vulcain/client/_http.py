"""One HTTP session to a Vulcain server: authentication, retries, errors, pagination."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from vulcain.client._exceptions import ServerError, TransportError, raise_for_status

API_PREFIX = "/v0.7"
RETRY_STATUSES = frozenset({502, 503, 504})
DEFAULT_TIMEOUT = 60.0


def _is_retryable(error: BaseException) -> bool:
    if isinstance(error, httpx.TransportError):
        return True
    return isinstance(error, ServerError) and error.status_code in RETRY_STATUSES


class HTTPSession:
    """Sends requests under ``{host}/v0.7`` with the account's key and turns failures into
    the client's exceptions.

    Requests that are safe to repeat (``retry=True``, the default) are retried with jittered
    exponential backoff on 502, 503, 504 and on connection errors, ``max_retries`` times.
    A request sent with ``retry=False`` (network creation) goes out exactly once, so a
    flaky proxy can never make the server create the same network twice.
    """

    def __init__(
        self,
        *,
        api_key: str,
        host: str,
        app_id: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        verify: bool = True,
    ) -> None:
        headers = {"X-API-KEY": api_key, "Accept": "application/json"}
        if app_id:
            headers["X-APP-ID"] = app_id
        self.host = host.rstrip("/")
        self.max_retries = max_retries
        self._http = httpx.Client(
            base_url=self.host + API_PREFIX, headers=headers, timeout=timeout, verify=verify
        )

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        retry: bool = True,
    ) -> httpx.Response:
        """Send one request and return its successful response; raise on 4xx/5xx."""
        kwargs: dict[str, Any] = {"params": params, "json": json, "data": data, "files": files}
        if headers is not None:
            kwargs["headers"] = headers
        if timeout is not None:
            kwargs["timeout"] = timeout

        def send() -> httpx.Response:
            response = self._http.request(method, path, **kwargs)
            raise_for_status(response)
            return response

        attempts = self.max_retries + 1 if retry else 1
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=0.1, max=5.0) + wait_random(0, 0.1),
            retry=retry_if_exception(_is_retryable),
            reraise=True,
        )
        try:
            return retrying(send)
        except httpx.TransportError as error:
            url = f"{self.host}{API_PREFIX}{path}"
            raise TransportError(
                f"cannot reach the Vulcain server at {url} ({type(error).__name__}: {error}); "
                "check VULCAIN_URL and that the server is running",
                request_url=url,
            ) from error

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs).json()

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs).json()

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def iter_results(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield every object of a paginated collection, page after page.

        The query of each ``next`` link is replayed on ``path`` of this session rather than
        fetched as is, so a server behind a proxy that builds links with its inner address
        still pages correctly.
        """
        page_params: list[tuple[str, Any]] = list(_as_pairs(params))
        while True:
            page = self.get(path, params=page_params)
            yield from page.get("results", [])
            next_url = page.get("next")
            if not next_url:
                return
            page_params = list(httpx.URL(next_url).params.multi_items())


def _as_pairs(params: Mapping[str, Any] | None) -> Iterator[tuple[str, Any]]:
    for key, value in (params or {}).items():
        if isinstance(value, list | tuple):
            for item in value:
                yield key, item
        else:
            yield key, value

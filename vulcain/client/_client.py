"""The entry point: ``Client(api_key, host)`` with ``client.Network``, ``client.Task``,
``client.RecognitionSpec`` and ``client.RecognitionVersion``."""

from __future__ import annotations

import os
from types import TracebackType

from vulcain.client._exceptions import CredentialsNotFound
from vulcain.client._http import DEFAULT_TIMEOUT, HTTPSession
from vulcain.client._networks import Networks
from vulcain.client._recognition import RecognitionSpecs, RecognitionVersions
from vulcain.client._tasks import Tasks

DEFAULT_HOST = "http://127.0.0.1:8000"


class Client:
    """A connection to one Vulcain server, as one account.

    ``api_key`` defaults to ``VULCAIN_API_KEY``; ``host`` (``http://127.0.0.1:8000``, no
    ``/v0.7``) to ``VULCAIN_URL``, then to the local default. ``app_id``, when given, is sent
    as ``X-APP-ID``. ``timeout`` is the per-request timeout in seconds, ``max_retries`` how
    many times a request that is safe to repeat is retried on 502/503/504 or a connection
    error. Use it as a context manager, or call :meth:`close`, to release connections.

    >>> client = Client(api_key="...", host="http://127.0.0.1:8000")
    >>> network = client.Network.retrieve(42)
    """

    def __init__(
        self,
        api_key: str | None = None,
        host: str | None = None,
        *,
        app_id: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        verify: bool = True,
    ) -> None:
        api_key = api_key or os.environ.get("VULCAIN_API_KEY")
        if not api_key:
            raise CredentialsNotFound(
                "no API key: pass Client(api_key=...) or set the VULCAIN_API_KEY variable"
            )
        self.host = (host or os.environ.get("VULCAIN_URL") or DEFAULT_HOST).rstrip("/")
        self._session = HTTPSession(
            api_key=api_key,
            host=self.host,
            app_id=app_id,
            timeout=timeout,
            max_retries=max_retries,
            verify=verify,
        )
        self.Network = Networks(self._session)
        self.Task = Tasks(self._session)
        self.RecognitionSpec = RecognitionSpecs(self._session)
        self.RecognitionVersion = RecognitionVersions(self._session)

    def account(self) -> dict[str, object]:
        """The account this key belongs to (``GET /v0.7/accounts/me``)."""
        account: dict[str, object] = self._session.get("/accounts/me")
        return account

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<vulcain.Client {self.host}>"

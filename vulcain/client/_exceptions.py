"""Every error the Vulcain client raises, under one base class.

    VulcainException            anything this client raises on purpose
    ├── CredentialsNotFound     no API key given and VULCAIN_API_KEY is not set
    ├── TransportError          the server could not be reached, even after retries
    ├── HTTPStatusError         the server answered 4xx or 5xx (.status_code, .error, .fields)
    │   ├── ClientError         4xx: the request is wrong; .error says how
    │   └── ServerError         5xx: the server failed (502/503/504 are retried first)
    ├── TaskError               a task finished with status "error" (.task, .error)
    └── TaskTimeout             a task was still "pending" when the wait ran out (.task)

``error`` is the sentence the server wrote in its ``{"error": ...}`` body, meant for a person.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from vulcain.client._tasks import Task


class VulcainException(Exception):
    """Base class of every error raised by :mod:`vulcain.client`."""


class CredentialsNotFound(VulcainException):
    """No API key: pass ``api_key=`` to :class:`Client` or set ``VULCAIN_API_KEY``."""


class TransportError(VulcainException):
    """The server could not be reached (connection refused, timeout), after every retry."""

    def __init__(self, message: str, *, request_url: str) -> None:
        super().__init__(message)
        self.request_url = request_url


class HTTPStatusError(VulcainException):
    """The server answered with a 4xx or 5xx status.

    ``status_code`` is the HTTP status, ``error`` the server's sentence (or the raw body when
    it is not Vulcain's JSON), ``fields`` the per-field messages of a validation error, and
    ``body`` the decoded JSON body (``None`` when the body is not JSON).
    """

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status_code = response.status_code
        self.body: Any = _json_or_none(response)
        error = self.body.get("error") if isinstance(self.body, dict) else None
        self.error: str = (
            str(error) if error is not None else (response.text or response.reason_phrase)
        )
        fields = self.body.get("fields") if isinstance(self.body, dict) else None
        self.fields: dict[str, str] = fields if isinstance(fields, dict) else {}
        request = response.request
        super().__init__(f"{self.status_code} on {request.method} {request.url}: {self.error}")


class ClientError(HTTPStatusError):
    """A 4xx answer: the request is invalid, unauthorised, or names something not found."""


class ServerError(HTTPStatusError):
    """A 5xx answer: the server failed to handle a valid request."""


class TaskError(VulcainException):
    """A task ended with status ``error``; ``error`` holds the server's reason."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.error: str = task.error or "the task failed without a reason"
        super().__init__(f"task {task.id} failed: {self.error}")


class TaskTimeout(VulcainException):
    """A task was still pending when the wait ran out; ``task`` is its last known state."""

    def __init__(self, task: Task, timeout: float) -> None:
        self.task = task
        self.timeout = timeout
        super().__init__(f"task {task.id} still pending after {timeout:g} s")


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def raise_for_status(response: httpx.Response) -> None:
    """Raise :class:`ClientError` or :class:`ServerError` for a 4xx or 5xx response."""
    if response.status_code >= 500:
        raise ServerError(response)
    if response.status_code >= 400:
        raise ClientError(response)

"""The one error tree of Vulcain.

Every error a user can cause or fix is a :class:`VulcainError` carrying a sentence that
says what is wrong and the HTTP status it maps to. Code below the API (runtimes,
preprocessing, storage) raises these without knowing about HTTP; the API renders them
as ``{"error": message}`` and a task stores ``message`` as its ``error``.
"""

from __future__ import annotations

from collections.abc import Iterable


class VulcainError(Exception):
    """Base class: ``message`` is shown to the user, ``status_code`` is the HTTP status."""

    status_code: int = 400

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class BadRequest(VulcainError):
    status_code = 400


class Unauthorized(VulcainError):
    status_code = 401


class Forbidden(VulcainError):
    """The caller may see the object but not do this to it (edit another's public network)."""

    status_code = 403


class NotFound(VulcainError):
    status_code = 404


class Conflict(VulcainError):
    """The request contradicts the object's state (delete a published spec by its id)."""

    status_code = 409


class PayloadTooLarge(VulcainError):
    status_code = 413


class UnsupportedMediaType(VulcainError):
    status_code = 415


class RequestTimeout(VulcainError):
    """The client stopped sending its request body."""

    status_code = 408


class TooManyRequests(VulcainError):
    """The caller holds as many requests of one kind at once as it may (long-polls)."""

    status_code = 429


class ModelError(BadRequest):
    """A network's files cannot be loaded or run (syntax error, corrupt weights, ...)."""


class UnknownTensorError(BadRequest):
    """A requested input or output name does not exist in the network."""

    SHOWN = 20

    @classmethod
    def for_names(
        cls, unknown: Iterable[str], known: Iterable[str], kind: str = "output"
    ) -> UnknownTensorError:
        """The error naming ``unknown`` and listing some of the ``known`` names."""
        unknown, known = list(unknown), list(known)
        names = ", ".join(repr(name) for name in unknown)
        plural = "s" if len(unknown) > 1 else ""
        shown = ", ".join(known[: cls.SHOWN])
        more = f" and {len(known) - cls.SHOWN} more" if len(known) > cls.SHOWN else ""
        return cls(
            f"Unknown {kind} name{plural} {names}: the network has no such layer or tensor. "
            f"Known names: {shown}{more}."
        )


class PreprocessingError(BadRequest):
    """The preprocessing cannot be applied (mean of the wrong shape, bad target size, ...)."""


class ImageError(BadRequest):
    """An input image cannot be read: not an image, truncated, too large, bad data URI."""


class FetchError(BadRequest):
    """An image URL cannot or may not be fetched (private address, timeout, too large)."""

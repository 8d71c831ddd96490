"""Read a ``multipart/form-data`` body whole, or refuse it.

Starlette's form parser returns whatever parts it saw when the body ends, even when the
closing boundary (``--BOUNDARY--``) never came: a body cut short lost its last part and
still created a network. Here the parser also records that it reached the closing
boundary, and a body without it is a 400.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager

from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from vulcain.errors import BadRequest

TRUNCATED = (
    "The multipart body ends before its closing boundary (--BOUNDARY--): it was cut short "
    "and nothing was stored; send it again whole."
)


class _CompleteMultiPartParser(MultiPartParser):
    """Starlette's parser, which also knows whether the closing boundary came."""

    complete = False

    def on_end(self) -> None:
        self.complete = True

    def close_every_file(self) -> None:
        """Close the spooled file of every part begun, including one the body cut short
        (not among the parts returned, so closing those would miss it)."""
        for file in self._files_to_close_on_error:
            file.close()


@asynccontextmanager
async def read_multipart(
    request: Request, *, max_files: int, max_fields: int, max_part_size: int
) -> AsyncIterator[FormData]:
    """The parts of the body, their spooled files closed when the block ends; raise
    :class:`BadRequest` for a body that cannot be parsed or was cut short."""
    async with aclosing(request.stream()) as stream:
        parser = _CompleteMultiPartParser(
            request.headers,
            stream,
            max_files=max_files,
            max_fields=max_fields,
            max_part_size=max_part_size,
        )
        try:
            form = await parser.parse()
        except MultiPartException as error:
            message = error.message[:1].lower() + error.message[1:]
            raise BadRequest(f"The request body cannot be read: {message}") from None
    try:
        if not parser.complete:
            raise BadRequest(TRUNCATED)
        yield form
    finally:
        await form.close()
        parser.close_every_file()

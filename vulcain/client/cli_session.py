"""The client of a terminal command: from the environment, its errors one-line failures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from vulcain.client._client import Client
from vulcain.client._exceptions import VulcainException


@contextmanager
def cli_client() -> Iterator[Client]:
    """A client from the environment; any client error becomes a one-line CLI failure."""
    try:
        with Client() as client:
            yield client
    except VulcainException as error:
        raise click.ClickException(str(error)) from None

"""Handing a result computed on one thread to whoever waits for it on another.

Work done on the engine's or the store's threads ends by calling a ``Settle`` with its
result (a value, or the exception that stopped it). An event loop waiting for it gets an
asyncio future completed on the loop's own thread; a thread waiting for it gets a
``concurrent.futures.Future``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any

Settle = Callable[[Any], None]
"""Called once with the result, or with the exception raised instead."""


def on_loop(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> Settle:
    """A ``Settle`` completing ``future`` on ``loop``'s thread, from any thread."""
    return partial(_call_soon, loop, future)


def _call_soon(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], result: Any) -> None:
    loop.call_soon_threadsafe(complete, future, result)


def complete(future: asyncio.Future[Any], result: Any = None) -> None:
    """Complete ``future`` with ``result`` (raised if it is an exception), unless done."""
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


def in_future(future: Future[Any]) -> Settle:
    """A ``Settle`` completing a thread's ``concurrent.futures.Future``."""
    return partial(_settle_future, future)


def _settle_future(future: Future[Any], result: Any) -> None:
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)

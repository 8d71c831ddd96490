"""Free-form JSON values that users store (a network's ``metadata``): bounded on the way in,
and always answerable on the way out.

JSON encoders refuse what they cannot write: pydantic's and orjson's stop at about 250
levels of nesting, and NaN or Infinity is no JSON number at all. A value is therefore
checked when it comes in (:func:`check_json_value`), without recursion, so that a value
nested 100,000 levels deep costs a loop and not the stack; and a value stored before these
checks existed is shown in a form that can always be encoded (:func:`answerable`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

Segment = str | int
"""One step of a path into a JSON value: an object key or a list index."""

MAX_JSON_DEPTH = 200
"""Deepest nesting any stored JSON value may have: well below what the encoders of answers
accept (about 250 levels, a network's answer adding a few of its own)."""

UNANSWERABLE_KEY = "vulcain_error"


class JsonValueError(ValueError):
    """What is wrong with a value, and where (``path``, as a dotted path from its root)."""

    def __init__(self, path: str, problem: str) -> None:
        shown = path if len(path) <= 80 else path[:77] + "..."
        super().__init__(f"{problem} (at {shown})" if path else problem)
        self.path = path
        self.problem = problem


class JsonTooDeep(JsonValueError):
    """The value nests deeper than allowed."""


def check_json_value(value: Any, *, max_depth: int, root: str = "") -> None:
    """Raise :class:`JsonValueError` unless ``value`` is made of JSON objects with string
    keys, lists, strings, booleans, null and finite numbers, nested at most ``max_depth``
    levels (an empty object is one level)."""
    stack: list[tuple[Any, tuple[Segment, ...], int]] = [(value, (), 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, dict | list) and depth > max_depth:
            raise JsonTooDeep(
                _where(root, path), f"nests more than {max_depth} levels deep; flatten it"
            )
        if isinstance(node, dict):
            for key, item in node.items():
                if not isinstance(key, str):
                    raise JsonValueError(_where(root, path), "object keys must be strings")
                stack.append((item, (*path, key), depth + 1))
        elif isinstance(node, list):
            stack.extend((item, (*path, index), depth + 1) for index, item in enumerate(node))
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise JsonValueError(
                    _where(root, path),
                    "NaN and Infinity are not JSON numbers; send a finite number "
                    "(or the value as a string)",
                )
        elif not (node is None or isinstance(node, str | int)):
            raise JsonValueError(_where(root, path), f"a {type(node).__name__} is not a JSON value")


def nesting_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests objects and lists deeper than ``limit`` levels."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            if depth > limit:
                return True
            stack.extend((item, depth + 1) for item in node)
    return False


def answerable(value: dict[str, Any], what: str) -> dict[str, Any]:
    """``value`` as stored, or, when it nests too deep to be encoded in an answer (stored
    before the limits existed), an object that says so: a read never fails on it."""
    if not nesting_exceeds(value, MAX_JSON_DEPTH):
        return value
    return {
        UNANSWERABLE_KEY: (
            f"this {what} nests more than {MAX_JSON_DEPTH} levels deep and cannot be shown; "
            "replace it"
        )
    }


def format_path(segments: Iterable[Segment]) -> str:
    """``["preprocessing", "inputs", 0, "image"]`` -> ``preprocessing.inputs[0].image``."""
    text = ""
    for segment in segments:
        if isinstance(segment, int):
            text += f"[{segment}]"
        else:
            text += f".{segment}" if text else segment
    return text


def _where(root: str, path: tuple[Segment, ...]) -> str:
    return format_path([root, *path] if root else path)

"""Flattened form keys (``preprocessing.inputs[0]image.target_size``) back to nested data.

The official Python client flattens a JSON object into form parts the way Django REST
Framework parses them: a dict key joins with ``.``, a list index is ``[i]`` with no dot after
it. Curl users repeat a key instead (``-F output_tensors=prob -F output_tensors=pool5``) or
write ``output_tensors[]``. :func:`unflatten` accepts all of these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from vulcain.errors import BadRequest
from vulcain.json_values import MAX_JSON_DEPTH, Segment, format_path

__all__ = ["Segment", "format_path", "parse_key", "unflatten"]

_TOKEN = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


def parse_key(key: str) -> list[Segment]:
    """``"a.b[0]c[1][2]"`` -> ``["a", "b", 0, "c", 1, 2]``; a trailing ``[]`` is dropped
    (it only says that the key may repeat)."""
    text = key[:-2] if key.endswith("[]") else key
    segments: list[Segment] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or (position == 0 and text.startswith((".", "["))):
            raise BadRequest(
                f"{key!r} is not a valid field name: write nested fields as "
                "'parent.child' and list items as 'parent[0]child'"
            )
        index, name = match.groups()
        segments.append(int(index) if index is not None else name)
        position = match.end()
        if len(segments) > MAX_JSON_DEPTH:
            raise BadRequest(
                f"The form field name {key[:60]!r}... nests more than {MAX_JSON_DEPTH} "
                "levels deep; flatten the value it carries."
            )
    if not segments:
        raise BadRequest("A form field has an empty name.")
    return segments


class _Indexed(dict[int, Any]):
    """A list under construction from ``[i]`` keys, which may arrive in any order."""


class _Repeated(list[Any]):
    """The values of a key sent more than once."""


def unflatten(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Nest ``(flattened key, value)`` pairs; a repeated key collects its values in a list."""
    root: dict[str, Any] = {}
    for key, value in items:
        segments = parse_key(key)
        node: Any = root
        for depth, segment in enumerate(segments[:-1]):
            child_kind = _Indexed if isinstance(segments[depth + 1], int) else dict
            node = _child(node, segment, child_kind, segments[: depth + 1])
        _store(node, segments[-1], value, segments)
    nested: dict[str, Any] = _finish(root, [])
    return nested


def _check_slot(node: Any, segment: Segment, path: list[Segment]) -> None:
    if isinstance(segment, int) and not isinstance(node, _Indexed):
        raise BadRequest(f"{format_path(path[:-1])}: mixes list items [i] with named fields")
    if isinstance(segment, str) and isinstance(node, _Indexed):
        raise BadRequest(f"{format_path(path[:-1])}: mixes named fields with list items [i]")


def _child(node: Any, segment: Segment, kind: type, path: list[Segment]) -> Any:
    _check_slot(node, segment, path)
    existing = node.get(segment)
    if existing is None:
        node[segment] = kind()
        return node[segment]
    if not isinstance(existing, (dict, _Indexed)) or type(existing) is not kind:
        raise BadRequest(
            f"{format_path(path)}: given both as one value and as separate fields; send one"
        )
    return existing


def _store(node: Any, segment: Segment, value: Any, path: list[Segment]) -> None:
    _check_slot(node, segment, path)
    if segment not in node:
        node[segment] = value
        return
    existing = node[segment]
    if isinstance(existing, (dict, _Indexed)):
        raise BadRequest(
            f"{format_path(path)}: given both as one value and as separate fields; send one"
        )
    if isinstance(segment, int):
        raise BadRequest(f"{format_path(path)}: given more than once")
    if isinstance(existing, _Repeated):
        existing.append(value)
    else:
        node[segment] = _Repeated([existing, value])


def _finish(node: Any, path: list[Segment]) -> Any:
    if isinstance(node, _Indexed):
        indices = sorted(node)
        if indices != list(range(len(indices))):
            shown = ", ".join(str(index) for index in indices)
            raise BadRequest(
                f"{format_path(path)}: list items must be numbered 0, 1, 2, ... "
                f"without gaps (got {shown})"
            )
        return [_finish(node[index], [*path, index]) for index in indices]
    if isinstance(node, dict):
        return {key: _finish(value, [*path, key]) for key, value in node.items()}
    if isinstance(node, _Repeated):
        return list(node)
    return node

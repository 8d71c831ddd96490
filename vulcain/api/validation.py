"""Pydantic validation errors as sentences a person can act on, keyed by dotted paths.

``("preprocessing", "inputs", 0, "image", "resize_type")`` with pydantic's "Input should be
'SQUASH', 'CROP', 'FILL' or 'NETWORK'" becomes
``preprocessing.inputs[0].image.resize_type: must be one of SQUASH, CROP, FILL, NETWORK``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from vulcain.api._flat_keys import format_path
from vulcain.errors import BadRequest

ModelT = TypeVar("ModelT", bound=BaseModel)

_UNION_TAGS = {"str", "bytes", "int", "float", "bool", "none", "list", "dict"}
_QUOTED = re.compile(r"'([^']*)'")

_PLAIN_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "bytes_type": "must be a string",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "list_type": "must be a list",
    "json_invalid": "is not valid JSON",
    "finite_number": "must be a finite number",
}


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind in _PLAIN_MESSAGES:
        return _PLAIN_MESSAGES[kind]
    if kind in ("literal_error", "enum"):
        choices = _QUOTED.findall(str(context.get("expected", "")))
        if choices:
            return "must be one of " + ", ".join(choices)
    if kind == "too_short":
        count = context.get("min_length", 1)
        return f"must have at least {count} item{'s' if count != 1 else ''}"
    if kind == "too_long":
        return f"must have at most {context.get('max_length')} items"
    if kind == "string_too_short":
        count = context.get("min_length", 1)
        return "must not be empty" if count == 1 else f"must have at least {count} characters"
    if kind == "string_too_long":
        return f"must have at most {context.get('max_length')} characters"
    bounds = {
        "greater_than": "greater than {gt}",
        "greater_than_equal": "at least {ge}",
        "less_than": "less than {lt}",
        "less_than_equal": "at most {le}",
    }
    if kind in bounds:
        shown = {
            key: f"{value:g}" if isinstance(value, float) else value
            for key, value in context.items()
        }
        return "must be " + bounds[kind].format(**shown)
    text = str(error.get("msg", "is invalid"))
    text = text.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return text[:1].lower() + text[1:]


def _location(loc: Sequence[Any], prefix: Sequence[str | int]) -> str:
    """The dotted path of ``loc``, without the member tags pydantic adds inside unions."""
    kept = [
        part
        for part in loc
        if isinstance(part, int)
        or not (
            part in _UNION_TAGS or "[" in part or part[:1].isupper() or part.startswith("function")
        )
    ]
    return format_path([*prefix, *kept])


def describe(
    errors: Iterable[Mapping[str, Any]], prefix: Sequence[str | int] = ()
) -> tuple[str, dict[str, str]]:
    """One sentence for all ``errors`` and the ``{dotted.path: message}`` of each field."""
    fields: dict[str, str] = {}
    for error in errors:
        path = _location(error.get("loc", ()), prefix) or "body"
        fields.setdefault(path, _message(error))
    sentence = "; ".join(f"{path}: {message}" for path, message in fields.items())
    return sentence or "The request is invalid.", fields


def validation_failure(error: ValidationError, prefix: Sequence[str | int] = ()) -> BadRequest:
    sentence, fields = describe(error.errors(include_url=False), prefix)
    return BadRequest(sentence, fields=fields)


def validate(model: type[ModelT], data: Any, context: Mapping[str, Any] | None = None) -> ModelT:
    """``model.model_validate(data, context=context)``, raising :class:`BadRequest` with a
    sentence per field."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        raise validation_failure(error) from None

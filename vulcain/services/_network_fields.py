"""Limits on the free-form fields of a network, from the settings (a 19 MB description or
a metadata nested 300 levels deep would otherwise be stored and sent back in every list)."""

from __future__ import annotations

from typing import Any

import orjson

from vulcain.config import Settings
from vulcain.errors import BadRequest
from vulcain.json_values import JsonTooDeep, JsonValueError, check_json_value


def check_metadata(settings: Settings, metadata: dict[str, Any], owner: str = "a network") -> None:
    """Raise :class:`BadRequest` unless ``metadata`` holds only JSON values with finite
    numbers, nested and sized within ``max_metadata_depth`` and ``max_metadata_bytes``
    (``owner`` names what keeps it in the sentence: a network, a recognition spec)."""
    try:
        check_json_value(metadata, max_depth=settings.max_metadata_depth)
    except JsonTooDeep as error:
        raise BadRequest(
            f"metadata: {error} (VULCAIN_MAX_METADATA_DEPTH).",
            fields={"metadata": error.problem},
        ) from None
    except JsonValueError as error:
        raise BadRequest(f"metadata: {error}.", fields={"metadata": error.problem}) from None
    size = len(orjson.dumps(metadata))
    if size > settings.max_metadata_bytes:
        raise BadRequest(
            f"metadata: takes {size} bytes as JSON, more than the {settings.max_metadata_bytes} "
            f"{owner} may keep (VULCAIN_MAX_METADATA_BYTES); keep large data elsewhere and "
            "a reference to it in metadata.",
            fields={"metadata": f"larger than {settings.max_metadata_bytes} bytes"},
        )


def check_description(settings: Settings, description: str, owner: str = "a network") -> None:
    """Raise :class:`BadRequest` when ``description`` is longer than
    ``max_description_chars``."""
    if len(description) > settings.max_description_chars:
        raise BadRequest(
            f"description: has {len(description)} characters, more than the "
            f"{settings.max_description_chars} {owner} may keep "
            "(VULCAIN_MAX_DESCRIPTION_CHARS); shorten it.",
            fields={"description": f"longer than {settings.max_description_chars} characters"},
        )

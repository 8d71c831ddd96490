from __future__ import annotations

import pytest

from vulcain.api.ids import MAX_ID, parse_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("42", 42),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1.0", None),
        ("١٢", None),  # Arabic-Indic digits: isdigit() is true, but not an id
        ("imagenet", None),
    ],
)
def test_parse_id(text, expected):
    assert parse_id(text) == expected

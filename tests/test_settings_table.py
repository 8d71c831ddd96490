"""The README's settings table lists exactly the fields of :class:`vulcain.config.Settings`,
each with the default written there (the one place a default is written).

A default cell starts with the value, optionally followed by ``: what it means``:
``8``, ``64 MiB``, ``true``, `` `auto` ``, ``empty`` (the empty string), ``unset`` (none),
or ``number of cores`` for the one default computed when the process starts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_core import PydanticUndefined

from vulcain.config import Settings
from vulcain.cores import core_count

README = Path(__file__).resolve().parents[1] / "README.md"
UNITS = {"KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
COMPUTED = {"number of cores": core_count}
"""Words that name a default computed at start, and how it is computed."""


def settings_rows() -> dict[str, str]:
    """Each ``VULCAIN_*`` variable of the table under ``## Configuration``, to its default
    cell."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`VULCAIN_([A-Z0-9_]+)`", cells[0]) if len(cells) == 3 else None
        if match:
            name = match.group(1).lower()
            assert name not in rows, f"VULCAIN_{name.upper()} has two rows"
            rows[name] = cells[2]
    return rows


def written_value(cell: str) -> object:
    """The value a default cell writes (the part before ``: ``)."""
    value = cell.split(": ", 1)[0].strip()
    if value in COMPUTED:
        return COMPUTED[value]()
    if value == "empty":
        return ""
    if value == "unset":
        return None
    if value in ("true", "false"):
        return value == "true"
    if value.startswith("`") and value.endswith("`"):
        return value.strip("`")
    number = re.fullmatch(r"([0-9][0-9_.]*)(?: (KiB|MiB|GiB))?", value)
    assert number, f"the default {cell!r} is not a value this test reads"
    amount = float(number.group(1))
    return amount * UNITS[number.group(2)] if number.group(2) else amount


def default_of(name: str) -> object:
    field = Settings.model_fields[name]
    if field.default is PydanticUndefined:
        assert field.default_factory is not None, name
        return field.default_factory()  # type: ignore[call-arg]
    return field.default


def test_the_table_lists_exactly_the_settings():
    rows = settings_rows()
    assert sorted(rows) == sorted(Settings.model_fields)


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_the_table_gives_the_default_written_in_the_settings_class(name: str):
    cell = settings_rows().get(name)
    assert cell is not None, f"README.md has no row for VULCAIN_{name.upper()}"
    written, default = written_value(cell), default_of(name)
    if isinstance(default, Path):
        written = Path(str(written))
    assert type(written) is type(default) or {type(written), type(default)} == {int, float}
    assert written == default, f"VULCAIN_{name.upper()}: README {cell!r}, settings {default!r}"

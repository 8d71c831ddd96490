"""Every ``# type: ignore`` in the package names its error code and says why."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "vulcain"
IGNORE = re.compile(r"#\s*type:\s*ignore")
EXPLAINED = re.compile(r"#\s*type:\s*ignore\[[a-z-]+(,\s*[a-z-]+)*\]\s+#\s*\S")


def unexplained_ignores(root: Path) -> list[str]:
    """``path:line`` of each ignore without an error code or without a reason after it."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if IGNORE.search(line) and not EXPLAINED.search(line):
                found.append(f"{path.relative_to(root.parent)}:{number}")
    return found


def test_every_type_ignore_names_its_code_and_gives_a_reason():
    assert unexplained_ignores(PACKAGE) == []


def test_an_ignore_without_code_or_reason_is_found(tmp_path: Path):
    package = tmp_path / "package"
    package.mkdir()
    (package / "module.py").write_text(
        "a = 1  # type: ignore\n"
        "b = 2  # type: ignore[assignment]\n"
        "c = 3  # type: ignore[assignment]  # the stubs miss it\n",
        encoding="utf-8",
    )
    assert unexplained_ignores(package) == ["package/module.py:1", "package/module.py:2"]

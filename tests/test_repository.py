"""The repository stands on its own: no file points outside it, every pointer into
``docs/`` leads somewhere, and no module reaches into another package's private modules
(docs/architecture.md, "Layers")."""

from __future__ import annotations

import ast
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

OUTSIDE = ("/work" + "/", "../" + "shared", "DESIGN" + ".md", "STYLE" + ".md")
"""What a pointer outside the repository looks like (written in pieces, so that this file
does not match itself)."""

DOC_REFERENCE = re.compile(r"docs/([\w./-]+?\.md)(?:#([\w-]+)|, \"([^\"]+)\")?")
"""``docs/api.md``, ``docs/api.md#pagination`` or ``docs/api.md, "Pagination"``."""
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
REPOSITORY_PATH = re.compile(r"`((?:vulcain|tests|benchmarks|docs)/[\w./-]*)`")


NOT_SOURCES = {".git", ".venv", "node_modules", "data", "build", "dist", "__pycache__"}
NOT_SOURCES |= {".pytest_cache", ".ruff_cache", ".mypy_cache"}
"""Folders of a working tree that are not part of the repository (when git cannot say)."""


def repository_files() -> list[Path]:
    """The files under version control (what a clone holds); outside a git checkout, the
    tree without the folders tools and runs create."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        return [
            path
            for path in ROOT.rglob("*")
            if path.is_file() and not NOT_SOURCES & set(path.relative_to(ROOT).parts)
        ]
    return [ROOT / name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def text_files() -> Iterator[tuple[Path, str]]:
    for path in repository_files():
        try:
            yield path, path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue


def headings(markdown: str) -> dict[str, str]:
    """Each heading of a Markdown text by its GitHub anchor, to its title."""
    found = {}
    for line in markdown.splitlines():
        match = re.match(r"#+ (.+)", line)
        if match:
            title = match.group(1).strip()
            anchor = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
            found[anchor] = title
    return found


def test_no_file_points_outside_the_repository():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path, text in text_files()
        for number, line in enumerate(text.splitlines(), 1)
        if any(outside in line for outside in OUTSIDE)
    ]
    assert offenders == []


def test_every_reference_into_docs_resolves():
    checked = 0
    for path, text in text_files():
        if path.suffix not in (".py", ".md") and path.name != "Makefile":
            continue
        for match in DOC_REFERENCE.finditer(text):
            name, anchor, section = match.groups()
            where = f"{path.relative_to(ROOT)}: {match.group(0)}"
            target = ROOT / "docs" / name
            assert target.is_file(), where
            sections = headings(target.read_text(encoding="utf-8"))
            if anchor:
                assert anchor in sections, where
            if section:
                assert section in sections.values(), where
            checked += 1
    assert checked > 0


@pytest.mark.parametrize(
    "name", ["README.md", *sorted(p.name for p in (ROOT / "docs").glob("*.md"))]
)
def test_markdown_links_and_paths_resolve(name: str):
    path = ROOT / name if name == "README.md" else ROOT / "docs" / name
    text = path.read_text(encoding="utf-8")
    for link in MARKDOWN_LINK.findall(text):
        if link.startswith(("http://", "https://", "mailto:")):
            continue
        file_part, _, anchor = link.partition("#")
        target = (path.parent / file_part).resolve() if file_part else path
        assert target.exists(), f"{name}: link {link}"
        if anchor and target.suffix == ".md":
            assert anchor in headings(target.read_text(encoding="utf-8")), f"{name}: {link}"
    for written in REPOSITORY_PATH.findall(text):
        assert (ROOT / written).exists(), f"{name}: `{written}` is not in the repository"


def _module_path(module: str) -> Path | None:
    """The file or package folder of a module of this repository, if it is one."""
    base = ROOT / Path(*module.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return base if (base / "__init__.py").is_file() else None


def _imported_modules(tree: ast.AST, package: str) -> Iterator[tuple[int, str]]:
    """Every module an import statement names (``from a import b`` names ``a``, and ``a.b``
    when that is a module), imports written in string constants (code run in a child
    process) included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                if _module_path(f"{module}.{alias.name}") is not None:
                    yield node.lineno, f"{module}.{alias.name}"
        elif isinstance(node, ast.Constant) and _holds_imports(node.value):
            try:
                code = ast.parse(node.value)
            except SyntaxError:
                continue
            for _, module in _imported_modules(code, package):
                yield node.lineno, module


def _holds_imports(value: object) -> bool:
    return isinstance(value, str) and bool(
        re.search(r"^\s*(from|import) vulcain", value, re.MULTILINE)
    )


def _private_owner(module: str) -> str | None:
    """The package whose private module ``module`` is (or lies in), if any."""
    parts = module.split(".")
    for index, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:index])
    return None


def _may_import_privately(package: str) -> set[str]:
    """The packages whose private modules code in ``package`` may import: its own; and
    for a test folder, the package it tests (``tests/runtimes`` tests ``vulcain.runtimes``)."""
    allowed = {package}
    if package.startswith("tests."):
        allowed.add("vulcain." + package.split(".")[1])
    return allowed


def test_no_module_imports_a_private_module_of_another_package():
    offenders = []
    for path in repository_files():
        relative = path.relative_to(ROOT)
        if path.suffix != ".py" or relative.parts[0] not in ("vulcain", "tests", "benchmarks"):
            continue
        package = ".".join(relative.parts[:-1])
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, module in _imported_modules(tree, package):
            owner = _private_owner(module)
            if (
                module.startswith("vulcain")
                and owner is not None
                and owner not in _may_import_privately(package)
            ):
                offenders.append(f"{relative}:{line}: {module}")
    assert offenders == []


NETWORK_LAYERS = (
    "vulcain/api",
    "vulcain/services",
    "vulcain/tasks",
    "vulcain/db",
    "vulcain/client",
)
"""Where the uploaded thing is a network (docs/architecture.md, "Words"); ``vulcain/api/v2``
speaks the Open Inference Protocol, whose word is "model"."""


def test_the_api_and_the_services_name_nothing_after_a_model():
    offenders = []
    for path in repository_files():
        relative = path.relative_to(ROOT).as_posix()
        if (
            path.suffix != ".py"
            or not relative.startswith(NETWORK_LAYERS)
            or relative.startswith("vulcain/api/v2/")
        ):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            is_definition = isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            if is_definition and "model" in node.name.lower():
                offenders.append(f"{relative}:{node.lineno}: {node.name}")
    assert offenders == []

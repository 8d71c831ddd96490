"""The web console's files: ``/`` answers its page, which loads only files the server itself
serves (nothing from the internet), and those files are package data of the wheel."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

from vulcain.api.console import CONSOLE_DIR

ROOT = Path(__file__).resolve().parents[2]


def test_root_answers_the_console_page_without_a_key(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert '<div id="app">' in response.text


def test_the_page_loads_only_files_the_server_serves(client):
    page = client.get("/").text
    references = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert "console/console.js" in references and "console/console.css" in references
    for reference in references:
        assert not reference.startswith(("http:", "https:", "//")), reference
        if reference.startswith("data:"):  # inline (the empty favicon)
            continue
        response = client.get("/" + reference)
        assert response.status_code == 200, reference
    script = client.get("/console/console.js")
    assert "javascript" in script.headers["content-type"]
    assert "v0.7" in script.text  # the API it is a client of
    assert client.get("/console/console.css").headers["content-type"].startswith("text/css")


def test_the_built_files_contain_no_internet_address():
    for path in CONSOLE_DIR.iterdir():
        if path.suffix in (".js", ".css"):
            # URLs inside license comments and the SVG namespace are not loaded.
            loaded = re.findall(r"url\((?:[\"'])?(https?:[^)\"']+)", path.read_text())
            assert loaded == [], (path.name, loaded)


def test_unknown_console_file_is_a_404(client):
    assert client.get("/console/nothing.js").status_code == 404


def test_the_console_files_are_package_data():
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = settings["tool"]["setuptools"]["package-data"]["vulcain"]
    package = ROOT / "vulcain"
    shipped = sorted(path.name for path in CONSOLE_DIR.iterdir() if path.is_file())
    assert {"index.html", "console.js", "console.css"} <= set(shipped)
    for name in shipped:
        relative = (CONSOLE_DIR / name).relative_to(package).as_posix()
        assert any(fnmatch(relative, pattern) for pattern in patterns), relative


def test_the_console_is_not_in_the_api_document(client):
    paths = client.get("/v0.7/openapi.json").json()["paths"]
    assert "/" not in paths and not any(path.startswith("/console") for path in paths)

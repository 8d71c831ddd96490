"""The web console: ``GET /`` answers its page, ``/console/*`` its built files.

The console is a client of the public API like any other (it sends the API key it was
given in ``X-API-KEY``); the server only hands out its files. They are built from
``console/`` by ``make console`` and shipped in the package, so nothing is loaded from the
internet.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import FileResponse
from starlette.staticfiles import StaticFiles

CONSOLE_DIR = Path(__file__).parent / "static" / "console"
ASSETS_PATH = "/console"


def install_console(app: FastAPI) -> None:
    """``/`` (the page) and ``/console/...`` (its script, style sheet and source map)."""
    page = CONSOLE_DIR / "index.html"

    async def console_page() -> FileResponse:
        # Revalidated on every load: a new release's page names its new files.
        return FileResponse(page, media_type="text/html", headers={"Cache-Control": "no-cache"})

    app.add_api_route("/", console_page, include_in_schema=False)
    app.mount(ASSETS_PATH, StaticFiles(directory=CONSOLE_DIR), name="console")

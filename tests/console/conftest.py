"""A real ``vulcain serve`` and Debian's headless Chromium driven by Playwright (no browser
is downloaded: Playwright launches ``/usr/bin/chromium``, or ``VULCAIN_TEST_CHROMIUM``).

Chromium is one of the services of :mod:`tests.external`: without it these tests skip and
say why, unless ``VULCAIN_REQUIRE_SERVICES=1`` (as ``.ci/run`` sets) makes them fail.
Screenshots of the main pages go to one folder, printed at the end of the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.builders import onnx_small_cnn
from tests.external import CHROMIUM, require
from tests.servers import VulcainServer, vulcain_server

_SCREENSHOTS: list[Path] = []


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Stopped after each module: Playwright's synchronous API runs an event loop on this
    thread while it lives, where the next suites' ``asyncio.run`` could not start theirs."""
    require("Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("VULCAIN_SCREENSHOT_DIR") or tmp_path_factory.mktemp("console"))
    folder.mkdir(parents=True, exist_ok=True)
    _SCREENSHOTS.append(folder)
    return folder


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for folder in _SCREENSHOTS:
        terminalreporter.write_line(f"Screenshots of the console: {folder}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VulcainServer]:
    with vulcain_server(tmp_path_factory.mktemp("console-server"), workers="1") as running:
        yield running


@pytest.fixture(scope="module")
def small_cnn(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real ONNX classifier: input ``data`` [N, 3, 16, 16], ``prob`` [N, 10]."""
    return onnx_small_cnn(tmp_path_factory.mktemp("small_cnn"))

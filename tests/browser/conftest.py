"""A live server on loopback and Debian's chromium driven by Playwright (never a
downloaded browser)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opendvi.app import OpenDVI
from tests.factories import build_site, free_port

CHROMIUM = Path("/usr/bin/chromium")
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the browser tests save screenshots: docs/screenshots/ when refreshing them
    (OPENDVI_SCREENSHOTS=1 pytest tests/browser), else a temporary folder."""
    import os

    if os.environ.get("OPENDVI_SCREENSHOTS") == "1":
        return DOCS_SCREENSHOTS
    return tmp_path


@pytest.fixture
def live(dvi: OpenDVI, tmp_path: Path) -> Iterator[dict[str, Any]]:
    import uvicorn

    site = build_site(dvi, tmp_path)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(site["app"], host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield {**site, "url": f"http://127.0.0.1:{port}"}
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-background-networking"],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()

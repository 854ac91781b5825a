"""A real server in a thread (werkzeug, 127.0.0.1, port 0) and Debian's Chromium driven by Playwright."""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import ARGS, CHROMIUM


def pytest_collection_modifyitems(items: list[Any]) -> None:
    if not os.path.exists(CHROMIUM):
        skip = pytest.mark.skip(reason=f"Debian's Chromium is not installed at {CHROMIUM}")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def playwright_browser() -> Iterator[Any]:
    # function scope, and requested after the data fixtures: Playwright's sync API runs an event loop in
    # this thread, and pyHanko's sync wrappers (asyncio.run) must have finished before it starts
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield p, browser
        browser.close()

"""Real-browser fixtures: Playwright (its Python driver, no browser download) driving Debian's
Chromium (``/usr/bin/chromium``, installed by ``.ci/run``), against the real API server, a real
worker and the test stack. Each test's last screen is kept as
``test-artifacts/screenshots/<test>.png``; a test can keep more with :func:`snap`.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskhub import Settings, TaskHub

from ..support import ROOT, Worker
from ..web.web_support import Account, new_account

CHROMIUM = os.environ.get("TASKHUB_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
# What the machine's closed network needs: no background traffic, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


EXPECT_TIMEOUT_MS = 15_000  # what the page must show by then, waited on (Playwright's is 5 s)


def pytest_configure(config: pytest.Config) -> None:
    """Give ``expect(...)`` the same deadline as every other wait here: on a loaded 2-core
    machine a page after a click, or a live update, can take more than Playwright's 5 s."""
    try:
        from playwright.sync_api import expect
    except ImportError:  # the collection hook below explains what is missing
        return
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    missing = shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists()
    for item in items:
        if "tests/browser/" not in item.nodeid:
            continue
        item.add_marker(pytest.mark.browser)
        if missing:
            reason = f"needs browser: no Chromium at {CHROMIUM} (apt-get install chromium)"
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser context (no cookies) and page; its last screen kept as an artifact."""
    from playwright.sync_api import Browser

    assert isinstance(chromium, Browser)
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    snap(tab, request.node.name)
    context.close()


def snap(tab: object, name: str) -> Path:
    """Keep a screenshot of ``tab`` under ``test-artifacts/screenshots``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    tab.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


@pytest.fixture
def live_hub(settings: Settings, worker: Worker) -> Iterator[TaskHub]:
    """A hub on the stack whose tasks the shared worker runs."""
    hub = TaskHub(settings)
    yield hub
    hub.close()


@pytest.fixture
def account(live_hub: TaskHub) -> Account:
    """A fresh workspace (Enterprise: every feature) and its API key."""
    return new_account(live_hub, plan="enterprise")

"""Helpers for real-browser tests: signing in through the form, and waiting on what the page
shows (Playwright's ``expect`` waits with a deadline; nothing here sleeps)."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def sign_in(page: Page, base_url: str, key: str) -> None:
    """Sign in through the form, as a person does; ends on the task history."""
    page.goto(f"{base_url}/login")
    page.fill("#api_key", key)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base_url}/")
    page.wait_for_load_state("load")  # its scripts have run: what the page follows is heard


def live(page: Page) -> None:
    """Wait until the page's live channel (``/live/events``) is open."""
    expect(page.locator("body")).to_have_attribute("data-live", "open")

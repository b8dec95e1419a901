"""No CDN anywhere: every dashboard page (each GET route of ``taskhub.web.ROUTERS`` without a
path parameter, the top bar's links, a task's and a pipeline's page, bulk confirmations, and
``/docs``) points only at this server, and every ``/static/...`` file a page references is
served.

Routes are collected from the routers, so a page another module adds is checked here as well.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.routing import APIRoute

from taskhub import Settings, TaskHub
from taskhub.domain.canvas import chain, sig
from taskhub.domain.states import TaskType
from taskhub.domain.submissions import Submission
from taskhub.web import ROUTERS

from .web_support import browser, new_account, sign_in

# Attributes that make the browser fetch or go somewhere, and CSS url(...)/@import targets.
REFERENCE = re.compile(
    r"""\b(?:src|href|action|formaction|srcset|poster|data|hx-get|hx-post)\s*=\s*["']?([^"'\s>]+)"""
    r"""|url\(\s*["']?([^"')\s]+)|@import\s+["']([^"']+)""",
    re.IGNORECASE,
)
NAV = re.compile(r'<nav class="areas">(.*?)</nav>', re.DOTALL)
# Routes that need a query to be a page (without it they answer 422, naming it): none now.
EXAMPLE_QUERY: dict[str, str] = {}
NEED_RECORDS = {"/compare"}  # visited below with two real tasks


@pytest.fixture
def idle_hub(idle_settings: Settings) -> Iterator[TaskHub]:
    hub = TaskHub(idle_settings)
    yield hub
    hub.close()


def plain_get_paths() -> list[str]:
    """The dashboard's GET routes that take no path parameter (``/``, ``/login``, ...)."""
    return sorted(
        {
            route.path + EXAMPLE_QUERY.get(route.path, "")
            for router in ROUTERS
            for route in router.routes
            if isinstance(route, APIRoute)
            and "GET" in route.methods
            and "{" not in route.path
            and route.path not in NEED_RECORDS
        }
    )


def references(text: str) -> list[str]:
    return [
        html.unescape(next(group for group in found if group)) for found in REFERENCE.findall(text)
    ]


def off_server(reference: str, host: str) -> bool:
    """Whether the browser would fetch or open ``reference`` anywhere but this server."""
    parts = urlsplit(reference)
    if reference.startswith("//") or "//cdn" in reference.lower():
        return True
    if parts.scheme in ("http", "https"):
        return parts.netloc != host
    return parts.scheme not in ("", "data", "mailto", "blob")


def fetch_html(session: httpx.Client, path: str) -> str | None:
    """The page at ``path`` (must answer 200), or ``None`` when it is not HTML (a live stream
    is never read to its end)."""
    with session.stream("GET", path) as reply:
        assert reply.status_code == 200, f"{path}: {reply.status_code}"
        if not reply.headers.get("content-type", "").startswith("text/html"):
            return None
        reply.read()
        return reply.text


def check_page(session: httpx.Client, path: str, host: str, served: dict[str, int]) -> list[str]:
    """The off-server references of the page at ``path``; its ``/static`` files fetched."""
    text = fetch_html(session, path)
    if text is None:
        return []
    wrong = [f"{path}: {ref}" for ref in references(text) if off_server(ref, host)]
    wrong += [f"{path}: mentions //cdn"] if "//cdn" in text.lower() else []
    for ref in references(text):
        asset = urlsplit(ref).path
        if asset.startswith("/static/") and asset not in served:
            served[asset] = session.get(asset).status_code
            wrong += check_asset(session, asset, host, served)
    return wrong


def check_asset(session: httpx.Client, asset: str, host: str, served: dict[str, int]) -> list[str]:
    """A stylesheet's own references (``url(...)``, ``@import``) stay on the server too."""
    if not asset.endswith(".css"):
        return []
    text = session.get(asset).text
    wrong = [f"{asset}: {ref}" for ref in references(text) if off_server(ref, host)]
    for ref in references(text):
        path = urlsplit(ref).path
        if path.startswith("/static/") and path not in served:
            served[path] = session.get(path).status_code
    return wrong


def test_no_dashboard_page_references_anything_off_the_server(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub, plan="enterprise")
    nightly = Submission(type=TaskType.SCHEDULED, origin="schedule:nightly")
    task = idle_hub.tasks.submit(account.workspace_id, "tests.echo", {"value": 1}, nightly)
    flow = chain(sig("tests.echo", {"value": 1}, name="a"), sig("tests.echo", name="b"))
    pipeline = idle_hub.pipelines.submit(account.workspace_id, flow, name="two steps")
    host = urlsplit(idle_api_url).netloc
    served: dict[str, int] = {}
    wrong: list[str] = []
    with browser(idle_api_url) as stranger:
        wrong += check_page(stranger, "/login", host, served)
    with sign_in(idle_api_url, account.key) as session:
        home = session.get("/")
        nav = NAV.search(home.text)
        assert nav, home.text
        top_bar = [urlsplit(ref).path for ref in references(nav.group(1))]
        pages = {*plain_get_paths(), *top_bar, f"/tasks/{task.id}", f"/bulk/cancel?ids={task.id}"}
        pages.add("/bulk/retry?status=failed&error_type=ValueError")  # the ops page's "retry all"
        pages |= {"/?status=pending&fragment=rows", f"/pipelines/{pipeline.id}", "/docs"}
        pages |= {f"/compare?a={task.id}&b={task.id}", "/definitions/tests.echo"}
        for path in sorted(pages):
            wrong += check_page(session, path, host, served)
    assert len(pages) >= 6 and "/static/dashboard.css" in served
    # The one link off the server on purpose: Flower, where the settings say it is.
    wrong = [ref for ref in wrong if not ref.endswith(f": {idle_hub.settings.flower_url}")]
    assert not wrong, "\n".join(wrong)
    missing = {asset: status for asset, status in served.items() if status != 200}
    assert not missing, missing

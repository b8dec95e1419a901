"""/docs works with no internet: Swagger UI's script, stylesheet and icon come from the package."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

from .api_support import client

# What each asset must answer: content type, and a floor on its size (the real files are about
# 1.7 MB, 190 kB and 600 B; an empty or truncated copy fails).
ASSETS = {
    ".js": ("javascript", 500_000),
    ".css": ("text/css", 50_000),
    ".png": ("image/png", 100),
}


class Links(HTMLParser):
    """The URLs a page loads: ``<script src>`` and ``<link href>``."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href"}.get(tag)
        self.urls += [value for name, value in attrs if name == wanted and value]


def test_docs_load_only_local_assets_and_each_one_answers(api_url: str) -> None:
    with client(api_url, None) as anonymous:
        page = anonymous.get("/docs")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        links = Links()
        links.feed(page.text)
        urls = links.urls
        assert len(urls) == 3, urls  # the script, the stylesheet, the favicon
        for url in urls:
            parts = urlsplit(url)
            assert not parts.scheme and not parts.netloc, f"{url} is not served by the API"
            assert url.startswith("/static/swagger/"), url
        assert "cdn.jsdelivr.net" not in page.text
        assert "fastapi.tiangolo.com" not in page.text
        assert "url: '/openapi.json'" in page.text

        kinds = set()
        for url in urls:
            asset = anonymous.get(url)
            assert asset.status_code == 200, url
            suffix = url[url.rindex(".") :]
            kind, min_bytes = ASSETS[suffix]
            kinds.add(suffix)
            assert kind in asset.headers["content-type"], (url, asset.headers["content-type"])
            assert len(asset.content) >= min_bytes, (url, len(asset.content))
        assert kinds == set(ASSETS)

        assert anonymous.get("/openapi.json").json()["info"]["title"] == "taskhub"
        redirect = anonymous.get("/docs/oauth2-redirect")
        assert redirect.status_code == 200
        assert redirect.headers["content-type"].startswith("text/html")


def test_the_docs_routes_stay_out_of_the_schema(api_url: str) -> None:
    with client(api_url, None) as anonymous:
        paths = anonymous.get("/openapi.json").json()["paths"]
        assert not [path for path in paths if path.startswith(("/docs", "/static", "/redoc"))]
        assert anonymous.get("/redoc").status_code == 404  # ReDoc needed a CDN; it is not served
        assert anonymous.get("/static/swagger/nothing.js").status_code == 404

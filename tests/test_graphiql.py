"""GraphiQL works without internet access: every script and stylesheet comes from our own static
files, and each of them is byte-identical to what the page's integrity hash promises.

When a strawberry upgrade changes the page's assets, these fail; run scripts/vendor_graphiql.sh.
No database is needed here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from smbselect.graphiql import AUTH_HINT, STATIC_DIR, graphiql_html, static_app

PREFIX = "/static/graphiql"
# What strawberry 0.341's page loads; a new strawberry may name others (then re-vendor).
EXPECTED_PACKAGES = {
    "react@18.2.0",
    "react-dom@18.2.0",
    "js-cookie@3.0.5",
    "graphiql@3.8.3",
    "@graphiql/plugin-explorer@1.0.2",
}


class _Assets(HTMLParser):
    """Collects (url, integrity) of every <script src> and <link rel=stylesheet|preload>."""

    def __init__(self) -> None:
        super().__init__()
        self.assets: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.assets.append((a["src"] or "", a.get("integrity")))
        elif tag == "link" and {"stylesheet", "preload", "modulepreload"} & set(
            (a.get("rel") or "").split()
        ):
            self.assets.append((a.get("href") or "", a.get("integrity")))


def _assets(page: str) -> list[tuple[str, str | None]]:
    parser = _Assets()
    parser.feed(page)
    return parser.assets


def _sri(data: bytes, algorithm: str) -> str:
    return f"{algorithm}-{base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def _local_file(url: str, prefix: str = PREFIX) -> Path:
    assert url.startswith(prefix + "/"), url
    return STATIC_DIR / "graphiql" / url.removeprefix(prefix + "/")


PAGE = graphiql_html()
ASSETS = _assets(PAGE)


def test_page_loads_no_script_or_stylesheet_from_elsewhere() -> None:
    assert ASSETS, "the page references no scripts or stylesheets at all"
    for url, _ in ASSETS:
        assert not url.lower().startswith(("http://", "https://", "//")), url
        assert url.startswith(PREFIX + "/"), url
    assert "unpkg.com" not in PAGE


def test_page_loads_the_packages_strawberry_names() -> None:
    spec = re.compile(rf"^{re.escape(PREFIX)}/((?:@[^/]+/)?[^/@]+@[^/]+)/")
    packages = {m.group(1) for url, _ in ASSETS if (m := spec.match(url))}
    assert packages == EXPECTED_PACKAGES


@pytest.mark.parametrize("url,integrity", ASSETS, ids=[url for url, _ in ASSETS])
def test_asset_is_vendored_and_matches_its_integrity(url: str, integrity: str | None) -> None:
    assert integrity, f"{url} has no integrity attribute"
    path = _local_file(url)
    assert path.is_file(), f"{path} is missing: run scripts/vendor_graphiql.sh"
    algorithm = integrity.split("-", 1)[0]
    assert algorithm == "sha384"
    assert _sri(path.read_bytes(), algorithm) == integrity


async def test_static_app_serves_the_assets_where_the_page_looks_for_them() -> None:
    app = Starlette(routes=[Mount("/static", app=static_app())])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for url, integrity in ASSETS:
            response = await client.get(url)
            assert response.status_code == 200, url
            assert integrity and _sri(response.content, "sha384") == integrity, url
        assert (await client.get(PREFIX + "/nope.js")).status_code == 404


def test_static_prefix_is_configurable() -> None:
    page = graphiql_html("/behind/proxy/static/graphiql/")
    urls = [url for url, _ in _assets(page)]
    assert urls and all(url.startswith("/behind/proxy/static/graphiql/") for url in urls)
    assert all("//" not in url for url in urls)
    assert all(_local_file(u, "/behind/proxy/static/graphiql").is_file() for u in urls)


def test_headers_editor_starts_with_an_authorization_hint() -> None:
    hint = json.dumps(json.dumps({"Authorization": AUTH_HINT}, indent=2))
    assert f"defaultHeaders: {hint}," in PAGE
    # The hint itself is not sent as a token: the page drops it before fetching.
    assert "fetcher: withoutAuthHint(fetcher)," in PAGE

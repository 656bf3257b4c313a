"""The GraphiQL page, served with its assets from this package instead of a CDN.

strawberry's page loads React, GraphiQL and its explorer plugin from unpkg.com, which a server
without internet access (or an admin's browser behind a strict proxy) cannot reach. unpkg serves
files straight out of the npm tarballs, so ``scripts/vendor_graphiql.sh`` copies the same
``<package>@<version>/<path>`` files into ``smbselect/static/graphiql/`` and checks them against
the page's integrity hashes; here we only point the page's URLs at those copies. The integrity
attributes stay, so the browser still refuses a file that is not byte-identical.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from pathlib import Path

from starlette.staticfiles import StaticFiles
from strawberry.http.ides import get_graphql_ide_html

__all__ = ["AUTH_HINT", "STATIC_DIR", "graphiql_html", "static_app"]

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
_VENDOR_DIR = STATIC_DIR / "graphiql"

# What the headers editor shows until the admin pastes a token (or a stored tab has its own).
AUTH_HINT = "Bearer <token from login>"

_CDN_URL = re.compile(r'(?P<attr>\b(?:src|href))="https://unpkg\.com/(?P<asset>[^"]+)"')

# GraphiQL sends the headers editor's content with every request, introspection included, so the
# hint would reach the server as a bogus token and the Docs pane would fail until it is edited.
# The page therefore drops a header whose value is still the hint before fetching.
_FETCHER_WRAPPER = """
      const AUTH_HINT = %(hint)s;
      function withoutAuthHint(fetcher) {
        return function (params, opts) {
          const headers = Object.assign({}, opts && opts.headers);
          for (const name of Object.keys(headers)) {
            if (headers[name] === AUTH_HINT) delete headers[name];
          }
          return fetcher(params, Object.assign({}, opts, { headers: headers }));
        };
      }

      function GraphiQLWithExplorer() {"""


def _localise(page: str, prefix: str) -> str:
    def replace(match: re.Match[str]) -> str:
        asset = match.group("asset")
        if not (_VENDOR_DIR / asset).is_file():
            # Keep the CDN rather than serve a page that cannot load at all; tests/test_graphiql.py
            # fails on this, and scripts/vendor_graphiql.sh fetches what a new strawberry names.
            logger.warning("GraphiQL asset %s is not vendored; leaving it on unpkg.com", asset)
            return match.group(0)
        return f'{match.group("attr")}="{prefix}/{asset}"'

    return _CDN_URL.sub(replace, page)


def _with_auth_hint(page: str) -> str:
    # Each anchor is a line of strawberry's template; if a strawberry upgrade changes one, the page
    # is served as strawberry wrote it (no hint) rather than half-edited.
    default_headers = json.dumps({"Authorization": AUTH_HINT}, indent=2)
    wrapper = _FETCHER_WRAPPER % {"hint": json.dumps(AUTH_HINT)}
    edits = [
        ("\n      function GraphiQLWithExplorer() {", wrapper),
        ("          fetcher: fetcher,\n", "          fetcher: withoutAuthHint(fetcher),\n"),
        (
            "          isHeadersEditorEnabled: true,\n",
            "          isHeadersEditorEnabled: true,\n"
            f"          defaultHeaders: {json.dumps(default_headers)},\n",
        ),
    ]
    if any(page.count(anchor) != 1 for anchor, _ in edits):
        logger.warning("strawberry's GraphiQL template changed; serving it without the auth hint")
        return page
    for anchor, replacement in edits:
        page = page.replace(anchor, replacement)
    return page


@functools.lru_cache(maxsize=8)
def graphiql_html(static_prefix: str = "/static/graphiql") -> str:
    """strawberry's GraphiQL page, loading its scripts and stylesheets from ``static_prefix``.

    ``static_prefix`` is the URL under which ``static_app()``'s ``graphiql/`` directory is served
    (include the app's root path if it runs behind one). The headers editor starts with an
    ``Authorization`` header to fill in with the token that the login mutation returns.
    """
    page = get_graphql_ide_html("graphiql")
    page = _localise(page, static_prefix.rstrip("/"))
    return _with_auth_hint(page)


def static_app() -> StaticFiles:
    """The package's ``static/`` directory as an ASGI app (mount it at ``/static``).

    Resolved from this file, so it is found wherever the package is installed.
    """
    return StaticFiles(directory=STATIC_DIR)

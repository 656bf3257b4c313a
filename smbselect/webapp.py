"""The web app: one HTML page for ``/`` and the app's client-side routes.

The app itself is plain ES modules and CSS in ``static/app/`` (served from ``/static/app``);
it talks to the server only through the public GraphQL API at ``/graphql``. Every client-side
route answers with the same page, so links in emails (``APP_URL/invitations/<token>``,
``APP_URL/password-reset/<token>``, ``APP_URL/applications/<id>``) open straight in the app.

The routes are listed one by one rather than caught all, so they can never shadow
``/graphql``, ``/static``, ``/healthz``, ``/readyz`` or ``/documents``. The page is served with
a strict Content-Security-Policy: nothing but this origin's own scripts, styles and requests,
no inline script or style, no framing; and no Referer, since link tokens sit in the path.
"""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from smbselect.graphiql import STATIC_DIR

__all__ = ["APP_DIR", "CONTENT_SECURITY_POLICY", "index", "routes"]

APP_DIR = STATIC_DIR / "app"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

# The client-side routes (see static/app/main.js). A path segment is one {name}.
PATHS = [
    "/",
    "/login",
    "/password-reset",
    "/password-reset/{token}",
    "/invitations/{token}",
    "/locations",
    "/locations/{location_id}",
    "/applications/{application_id}",
    "/applications/{application_id}/{step}",
    "/admin",
    "/admin/{page}",
]


@functools.lru_cache(maxsize=1)
def _page() -> str:
    return (APP_DIR / "index.html").read_text(encoding="utf-8")


async def index(request: Request) -> Response:
    return HTMLResponse(_page(), headers=HEADERS)


def routes() -> list[Route]:
    """The web app's routes, to add to the Starlette app after its own."""
    return [Route(path, index, methods=["GET", "HEAD"]) for path in PATHS]

"""The Starlette application: lifespan, routes and middleware.

``/graphql`` (GraphiQL on GET from a browser, its assets served from ``/static``),
``/healthz`` (the process answers) and ``/readyz`` (the database answers too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from strawberry.asgi import GraphQL
from tortoise import Tortoise

from smbselect import security, uploads
from smbselect.context import Context
from smbselect.db.connect import close_db, open_db
from smbselect.graphiql import graphiql_html, static_app
from smbselect.mail.relay import MailRelay
from smbselect.plugins.manager import Plugins
from smbselect.resolvers.auth import authenticate
from smbselect.resolvers.invitations import expiry_loop
from smbselect.resolvers.observers import EventDispatcher
from smbselect.resolvers.programs import sync_programs
from smbselect.schema.root import schema
from smbselect.settings import Settings, get_settings

log = logging.getLogger("smbselect.app")


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``; cookies never authenticate."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class GraphQLView(GraphQL):  # type: ignore[type-arg]
    """strawberry's ASGI view with our context and an offline GraphiQL page."""

    def __init__(self, settings: Settings, plugins: Plugins, relay: MailRelay) -> None:
        super().__init__(schema, graphql_ide="graphiql", multipart_uploads_enabled=True)
        self.settings = settings
        self.plugins = plugins
        self.relay = relay

    async def get_context(self, request: Request, response: Any) -> Context:  # type: ignore[override]
        ctx = Context(
            settings=self.settings,
            plugins=self.plugins,
            client_ip=request.client.host if request.client else None,
            request=request,
            response=response,
        )
        found = await authenticate(bearer_token(request))
        if found is not None:
            ctx.user, ctx.session_id = found
        return ctx

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:  # type: ignore[override]
        return HTMLResponse(graphiql_html())

    async def process_result(self, request: Request, result: Any) -> Any:  # type: ignore[override]
        if request.method == "POST":
            self.relay.wake()  # a mutation may have queued email: deliver it now, not at the next poll
        return await super().process_result(request, result)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    try:
        await Tortoise.get_connection("default").execute_query("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        log.warning("readiness check failed: %s", exc)
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "up"})


def create_app(
    settings: Settings | None = None,
    *,
    plugins: Plugins | None = None,
    manage_db: bool = True,
    run_relay: bool = True,
) -> Starlette:
    """The ASGI app. Tests pass ``manage_db=False`` when they opened the database themselves,
    and ``run_relay=False`` to drive the mail relay and the observers by hand."""
    settings = settings or get_settings()
    plugins = plugins or Plugins.load(settings.plugins)
    plugins.programs()  # an invalid program definition stops the start, naming the plugin
    security.configure(settings.max_concurrent_hashes)
    relay = MailRelay(settings)
    observers = EventDispatcher(plugins, poll_seconds=settings.mail_poll_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_db:
            await open_db(settings.database_url)
        await sync_programs(plugins)
        stop = asyncio.Event()
        background = [relay.run(stop), observers.run(stop), expiry_loop(stop)] if run_relay else []
        tasks = [asyncio.create_task(job) for job in background]
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                    await asyncio.wait_for(task, timeout=10)
            if manage_db:
                await close_db()

    view = GraphQLView(settings, plugins, relay)
    middleware = []
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type"],
                max_age=600,
            )
        )
    # Inside CORS, so a 413 still carries the CORS headers a browser needs to read it.
    middleware.append(Middleware(uploads.RequestSizeLimit, paths=["/graphql"]))
    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/documents/{document_id:int}", uploads.download_document, methods=["GET"]),
            Mount("/static", static_app(), name="static"),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.plugins = plugins
    app.state.relay = relay
    app.state.observers = observers
    return app

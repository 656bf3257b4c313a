"""The Starlette application: lifespan, routes and middleware.

``/graphql`` (GraphiQL on GET from a browser, its assets served from ``/static``),
``/healthz`` (the process answers) and ``/readyz`` (the database answers too).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from tortoise import Tortoise

from smbselect import security, uploads, webapp
from smbselect.db.connect import close_db, open_db
from smbselect.graphiql import static_app
from smbselect.graphql_http import GraphQLEndpoint, GraphQLView, bearer_token
from smbselect.logs import is_sql_statement
from smbselect.mail.relay import MailRelay
from smbselect.plugins.manager import Plugins
from smbselect.resolvers.invitations import expiry_loop
from smbselect.resolvers.observers import EventDispatcher
from smbselect.resolvers.programs import sync_programs
from smbselect.settings import Settings, get_settings

__all__ = ["SqlCountHeader", "bearer_token", "create_app"]

log = logging.getLogger("smbselect.app")


_sql_count: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("sql_count", default=None)


class _SqlCountHandler(logging.Handler):
    """Counts the statements of tortoise's debug log into the current request's counter;
    passes anything above DEBUG on to the root handlers (the logger stops propagating)."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno > logging.DEBUG:
            for handler in logging.getLogger().handlers:
                handler.handle(record)
            return
        counter = _sql_count.get()
        if counter is None:
            return
        if is_sql_statement(record):
            counter[0] += 1


class SqlCountHeader:
    """``SMBSELECT_COUNT_SQL=1`` (the benchmark): every response carries ``X-SQL-Count``, the
    SQL statements its request sent. Per request through a context variable, which the
    tasks a request starts (batch loaders) inherit; background loops are not counted."""

    def __init__(self, app: Any) -> None:
        self.app = app
        db_log = logging.getLogger("tortoise.db_client")
        if not any(isinstance(h, _SqlCountHandler) for h in db_log.handlers):
            db_log.addHandler(_SqlCountHandler(logging.DEBUG))
        db_log.setLevel(logging.DEBUG)
        db_log.propagate = False  # or every statement would reach the log

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        counter = [0]
        token = _sql_count.set(counter)

        async def send_with_count(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-sql-count", str(counter[0]).encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_count)
        finally:
            _sql_count.reset(token)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    try:
        await Tortoise.get_connection("default").execute_query("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        log.warning("readiness check failed: %s", exc)
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "up"})


def tune_gc() -> None:
    """A long-running server: the objects alive after start-up (modules, schema, plugins)
    are frozen out of the collector, whose full collections over them took 80-110 ms and
    set the p99. The thresholds stay Python's (700, 10, 10): a young generation of 50,000
    (tried) made each young collection traverse more, 30-45 ms a pass, and cost more in
    all (measured over 4,000 `me` and 300 queue requests with gc.callbacks)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(700, 10, 10)


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
        if manage_db:
            tune_gc()
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
    if os.environ.get("SMBSELECT_COUNT_SQL") == "1":
        middleware.insert(0, Middleware(SqlCountHeader))
    app = Starlette(
        routes=[
            Route("/graphql", GraphQLEndpoint(view), methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/documents/{document_id:int}", uploads.download_document, methods=["GET"]),
            Mount("/static", static_app(), name="static"),
            *webapp.routes(),  # the web app at / and its client-side routes
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.plugins = plugins
    app.state.relay = relay
    app.state.observers = observers
    return app

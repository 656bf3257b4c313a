"""The Starlette application: lifespan, routes and middleware.

``/graphql`` (GraphiQL on GET from a browser, its assets served from ``/static``),
``/healthz`` (the process answers) and ``/readyz`` (the database answers too).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import json
import logging
import os
import re
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from tortoise import Tortoise

from smbselect import security, uploads, webapp
from smbselect.context import Context
from smbselect.db.connect import close_db, open_db
from smbselect.graphiql import graphiql_html, static_app
from smbselect.logs import is_sql_statement
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


# What a POST to /graphql may carry. Anything else (text/plain and form posts above all:
# a browser sends those cross-site without asking) is refused before the body is read.
GRAPHQL_POST_TYPES = frozenset({"application/json", "multipart/form-data"})


def media_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


# "\ud800" to "\udfff" in a JSON text; only a body holding one needs the full check.
_SURROGATE_ESCAPE_TEXT = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


class GraphQLView(GraphQL):  # type: ignore[type-arg]
    """strawberry's ASGI view with our context and an offline GraphiQL page.

    Every answer carries ``X-Request-ID``, the id an unexpected error names in its message
    and in the log. Batching is off (strawberry's default) and mutations over GET are
    refused by strawberry itself.
    """

    def __init__(self, settings: Settings, plugins: Plugins, relay: MailRelay) -> None:
        super().__init__(schema, graphql_ide="graphiql", multipart_uploads_enabled=True)
        self.settings = settings
        self.plugins = plugins
        self.relay = relay

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST" \
                and media_type(scope) not in GRAPHQL_POST_TYPES:
            response = PlainTextResponse(
                "Send GraphQL as application/json (or multipart/form-data for uploads).",
                status_code=415,
            )
            await response(scope, receive, send)
            return
        try:
            await super().__call__(scope, receive, send)
        except ClientDisconnect:
            # The client went away before its request was read (a closed tab, a load
            # generator stopping): nobody is left to answer, and it is not a server error.
            log.info("client disconnected before its request was read")

    async def get_context(self, request: Request, response: Any) -> Context:  # type: ignore[override]
        ctx = Context(
            settings=self.settings,
            plugins=self.plugins,
            client_ip=request.client.host if request.client else None,
            request=request,
            response=response,
        )
        response.headers["X-Request-ID"] = ctx.request_id
        found = await authenticate(bearer_token(request))
        if found is not None:
            ctx.user, ctx.session_id = found
        return ctx

    def decode_json(self, data: str | bytes) -> object:
        """JSON that cannot be UTF-8 (a lone surrogate escape such as "\\ud800") is refused
        as malformed (400) here, instead of failing deep in a database driver."""
        value = json.loads(data)
        escapes = _SURROGATE_ESCAPE_BYTES if isinstance(data, bytes) else _SURROGATE_ESCAPE_TEXT
        if not escapes.search(data):  # type: ignore[arg-type]
            return value  # a lone surrogate can only come from an escape: none here
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
            raise json.JSONDecodeError("lone surrogate in a string", text, exc.start) from exc
        return value

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:  # type: ignore[override]
        return HTMLResponse(graphiql_html())

    async def process_result(self, request: Request, result: Any) -> Any:  # type: ignore[override]
        if request.method == "POST":
            self.relay.wake()  # a mutation may have queued email: deliver it now, not at the next poll
        return await super().process_result(request, result)


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
            Route("/graphql", view, methods=["GET", "POST"]),
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

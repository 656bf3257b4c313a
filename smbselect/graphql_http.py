"""``/graphql`` over HTTP: strawberry's view, and a short path for the common request.

Nearly every request a client sends is a ``POST`` of ``{"query", "variables",
"operationName"}`` as JSON whose document is already parsed and validated (the caches of
:mod:`smbselect.schema.pipeline`). strawberry's view answers it through a request adapter, a
sub-response, an execution context, an extension runner and two JSON encoders: measured in
process, ``{ me { ... } }`` took 0.38 ms that way and 0.23 ms when graphql-core executed the
same document with the same context, against 0.12 ms for a hand-written endpoint.

:class:`GraphQLEndpoint` answers that request itself: the same context
(:meth:`GraphQLView.context_for`), the same cached document and validation
(:func:`pipeline.rules_for`), graphql-core's ``execute`` with the schema's execution context,
the same error shaping (:func:`errors.shape_errors`) and the same JSON encoding
(:func:`encode_json`). Anything else (GET and GraphiQL, multipart uploads, batches, a body
that is not such an object, ``extensions``, a syntax or validation error, a document whose
operation cannot be chosen, a streaming ``Accept`` header) goes to strawberry's view with
the body replayed, so strawberry keeps answering all of those to the letter.
``tests/test_graphql_http.py`` compares both answers for every kind of request.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError, OperationType, execute, get_operation_ast
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.execution.is_awaitable import optimized_is_awaitable

from smbselect.context import Context
from smbselect.graphiql import graphiql_html
from smbselect.mail.relay import MailRelay
from smbselect.plugins.manager import Plugins
from smbselect.resolvers.auth import authenticate
from smbselect.schema.errors import shape_errors
from smbselect.schema.execution import ExecutionContext
from smbselect.schema.pipeline import parsed, rules_for, validated
from smbselect.schema.root import LIMIT_RULES, MAX_TOKENS, schema
from smbselect.settings import Settings

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


def encode_json(data: object) -> bytes:
    """Compact JSON, as UTF-8. orjson writes it about ten times as fast as ``json.dumps``;
    what orjson refuses (an integer beyond 64 bits, say) is written by ``json.dumps``."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


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
            _log_disconnect()

    async def context_for(self, request: Request) -> Context:
        """The request's context, its viewer authenticated from the bearer token."""
        ctx = Context(
            settings=self.settings,
            plugins=self.plugins,
            client_ip=request.client.host if request.client else None,
            request=request,
        )
        found = await authenticate(bearer_token(request))
        if found is not None:
            ctx.user, ctx.session_id = found
        return ctx

    async def get_context(self, request: Request, response: Any) -> Context:  # type: ignore[override]
        ctx = await self.context_for(request)
        ctx.response = response
        response.headers["X-Request-ID"] = ctx.request_id
        return ctx

    async def execute_operation(  # type: ignore[override]
        self, request: Request, request_adapter: Any, request_data: Any, context: Any, root_value: Any,
        sub_response: Any,
    ) -> Any:
        try:
            return await super().execute_operation(request, request_adapter, request_data, context, root_value,
                                                   sub_response)
        finally:
            if isinstance(context, Context):
                context.release()  # as on the short path: see Context.release
            if _is_mutation(request_data):
                self.relay.wake()  # as on the short path: only a mutation may have queued email

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

    def encode_json(self, data: object) -> bytes:
        return encode_json(data)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:  # type: ignore[override]
        return HTMLResponse(graphiql_html())


def _is_mutation(request_data: Any) -> bool:
    """Whether strawberry's view ran a mutation (a query can queue no email). A document
    that does not parse, or names no operation of its own, ran nothing."""
    query = getattr(request_data, "query", None)
    if not isinstance(query, str):
        return False
    try:
        operation = get_operation_ast(parsed(query, MAX_TOKENS), request_data.operation_name)
    except GraphQLError:
        return False
    return operation is not None and operation.operation is OperationType.MUTATION


def _log_disconnect() -> None:
    # The client went away before its request was read (a closed tab, a load generator
    # stopping): nobody is left to answer, and it is not a server error.
    log.info("client disconnected before its request was read")


# Accept headers that ask strawberry for a streamed answer (multipart subscriptions, SSE).
_STREAMING_ACCEPT = (b"multipart/mixed", b"text/event-stream")


def _is_plain_json_post(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "POST":
        return False
    for name, value in scope["headers"]:
        if name == b"accept" and any(s in value for s in _STREAMING_ACCEPT):
            return False
    return media_type(scope) == "application/json"  # the same reading as the 415 check


def _replayed(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the body already read to the next reader, then the rest."""
    pending = True

    async def again() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


NOT_AN_OBJECT = 'Send a JSON object: {"query": "...", "variables": {...}}.'


class NotAnObject(Exception):
    """The body is JSON, but a string, a number, true, false or null (strawberry's view
    fails on those with a server error)."""


class GraphQLEndpoint:
    """``/graphql``: the common request answered here, everything else by ``view``."""

    def __init__(self, view: GraphQLView) -> None:
        self.view = view

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_plain_json_post(scope):
            await self.view(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            body = await request.body()
        except ClientDisconnect:
            _log_disconnect()
            return
        try:
            answer = await self.answer(request, body)
        except NotAnObject:
            await PlainTextResponse(NOT_AN_OBJECT, status_code=400)(scope, receive, send)
            return
        if answer is None:  # not the common case: strawberry answers, from the same body
            await self.view(scope, _replayed(body, receive), send)
            return
        payload, request_id = answer
        await send({
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-length", str(len(payload)).encode()),
                (b"content-type", b"application/json"),
                (b"x-request-id", request_id.encode()),
            ],
        })
        await send({"type": "http.response.body", "body": payload})

    async def answer(self, request: Request, body: bytes) -> tuple[bytes, str] | None:
        """The encoded answer and the request id, or None where strawberry must answer."""
        try:
            data = orjson.loads(body)  # refuses lone surrogates, NaN and huge integers: strawberry words those
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            if isinstance(data, list):
                return None  # a batch: strawberry says it is not enabled
            raise NotAnObject()
        if data.get("extensions"):
            return None
        query = data.get("query")
        variables = data.get("variables")
        operation_name = data.get("operationName")
        if not isinstance(query, str) or not query or not isinstance(variables, dict | None) \
                or not isinstance(operation_name, str | None):
            return None
        try:
            document = parsed(query, MAX_TOKENS)
        except GraphQLError:
            return None
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return None
        ctx = await self.view.context_for(request)
        if validated(schema._schema, query, MAX_TOKENS, rules_for(ctx, LIMIT_RULES)):
            return None
        try:
            result = execute(
                schema._schema, document, context_value=ctx, variable_values=variables,
                operation_name=operation_name, executor_class=ExecutionContext,
                is_awaitable=optimized_is_awaitable,
            )
            if optimized_is_awaitable(result):
                result = await result
        finally:
            ctx.release()
        assert isinstance(result, ExecutionResult)
        if operation.operation is OperationType.MUTATION:
            # It may have queued email: deliver it now, not at the next poll. Not after a
            # query: each wake is a drain of the outbox (a statement, with an SMTP host),
            # and under load the relay drained once per request.
            self.view.relay.wake()
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [error.formatted for error in shape_errors(result.errors, ctx)]
        return encode_json(response), ctx.request_id

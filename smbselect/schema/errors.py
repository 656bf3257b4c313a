"""How errors leave the server.

Access errors (UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT) and GraphQL's own validation
errors are the client's: shown as they are, with ``extensions.code``. Everything else is a
bug: the client gets "Unexpected error." with a request id, and the log gets the full
traceback with the same id, so a user's report can be matched to it (the HTTP layer sends
the id as ``X-Request-ID`` on every answer).

In production (``SMBSELECT_ENV=production``) the schema itself is an admin's business:
introspection is refused and validation messages lose their "Did you mean ...?" hints
unless the request carries an admin's token. GraphiQL (the admins' tool) still loads; it
needs the token in its headers pane. In development everyone sees everything.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from smbselect.errors import AccessError

log = logging.getLogger("smbselect.errors")
UNEXPECTED = "Unexpected error."
# graphql-core appends hints naming existing fields, arguments, types and enum values.
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def reveals_schema(context: Any) -> bool:
    """Whether this request may learn the schema's shape: always in development; in
    production only with an admin's token. (A context without settings is a test's or a
    script's own call of the schema, not a client.)"""
    settings = getattr(context, "settings", None)
    if settings is None or not settings.is_production:
        return True
    return bool(getattr(context, "is_admin", False))


class SchemaPrivacy(SchemaExtension):
    """Refuses introspection in production unless an admin asks. It adds a validation rule,
    so the answer comes before any resolver runs, and ``ValidationCache`` (keyed by the
    rules too) cannot hand an admin's verdict to anyone else."""

    def on_operation(self):  # type: ignore[no-untyped-def]
        if not reveals_schema(self.execution_context.context):
            rules = tuple(self.execution_context.validation_rules)
            self.execution_context.validation_rules = (*rules, NoSchemaIntrospectionCustomRule)
        yield


class ErrorPolicy(SchemaExtension):
    def on_operation(self):  # type: ignore[no-untyped-def]
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        context = self.execution_context.context
        request_id = getattr(context, "request_id", None)
        shaped = [self._shape(error, request_id) for error in result.errors]
        if not reveals_schema(context):
            shaped = [_without_suggestions(error) for error in shaped]
        result.errors = shaped

    def _shape(self, error: GraphQLError, request_id: str | None) -> GraphQLError:
        original = error.original_error
        if original is None:
            return error  # parsing / validation: the client's mistake, already worded
        if isinstance(original, AccessError):
            return GraphQLError(
                str(original), nodes=error.nodes, path=error.path,
                extensions={"code": original.code},
            )
        if isinstance(original, GraphQLError) and original.original_error is None:
            return error
        log.error(
            "unexpected error in %s (request %s)", ".".join(map(str, error.path or [])) or "operation",
            request_id, exc_info=original, extra={"request_id": request_id},
        )
        return GraphQLError(
            UNEXPECTED, nodes=error.nodes, path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )


def _without_suggestions(error: GraphQLError) -> GraphQLError:
    """The error without "Did you mean ...?"; a new object, because validation errors are
    cached and shared with the requests that may see the hints."""
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message, nodes=error.nodes, source=error.source, positions=error.positions,
        path=error.path, extensions=error.extensions,
    )

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


def shape_errors(errors: list[GraphQLError], context: Any) -> list[GraphQLError]:
    """The errors as the client may see them: access errors with their code, unexpected
    ones replaced by "Unexpected error." and a request id (the log gets the traceback),
    and, where the viewer may not see the schema, no "Did you mean ...?" hints.
    (Introspection is refused by a validation rule, :class:`pipeline.RequestPolicy`.)"""
    request_id = getattr(context, "request_id", None)
    shaped = [_shape(error, request_id) for error in errors]
    if not reveals_schema(context):
        shaped = [_without_suggestions(error) for error in shaped]
    return shaped


def _shape(error: GraphQLError, request_id: str | None) -> GraphQLError:
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

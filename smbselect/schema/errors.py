"""How errors leave the server.

Access errors (UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT) and GraphQL's own validation
errors are the client's: shown as they are, with ``extensions.code``. Everything else is a
bug: the client gets "Unexpected error." with a request id, and the log gets the full
traceback with the same id, so a user's report can be matched to it.
"""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from smbselect.errors import AccessError

log = logging.getLogger("smbselect.errors")
UNEXPECTED = "Unexpected error."


class ErrorPolicy(SchemaExtension):
    def on_operation(self):  # type: ignore[no-untyped-def]
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        context = self.execution_context.context
        request_id = getattr(context, "request_id", None)
        result.errors = [self._shape(error, request_id) for error in result.errors]

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
            request_id, exc_info=original,
        )
        return GraphQLError(
            UNEXPECTED, nodes=error.nodes, path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )

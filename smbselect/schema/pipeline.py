"""Every request's GraphQL policy in one schema extension: limits, caches, privacy, errors.

strawberry makes each extension anew for every request, looks up each of its four hooks
and enters a context manager for each one it implements. Six small extensions (the token
limit, the depth and alias rules, the parse and validation caches, the introspection rule,
the error shaping) meant six objects, 24 hook lookups and 7 context managers per request,
on the way of every ``{ me { ... } }``; one extension does the same work with 1, 4 and 3.

What it does, in strawberry's order:

- ``on_operation``: the token limit for parsing, the depth and alias rules and, where the
  viewer may not see the schema (:func:`errors.reveals_schema`), the introspection rule;
  after execution, the errors are shaped for the client (:func:`errors.shape_errors`).
- ``on_parse``: the parsed document, cached by its text.
- ``on_validate``: the validation errors, cached by the text and the rules, so an admin's
  verdict (introspection allowed) is never handed to anyone else.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    parse,
    specified_rules,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from smbselect.schema.errors import reveals_schema, shape_errors

CACHE_SIZE = 512
"""Distinct documents kept parsed and validated (the web app uses a few dozen); bounded, so
that unique texts sent on purpose cannot grow the memory."""

Rules = tuple[type[ASTValidationRule], ...]


@lru_cache(maxsize=CACHE_SIZE)
def parsed(query: str, max_tokens: int) -> DocumentNode:
    """The document of ``query``; a syntax error or too many tokens raise (not cached)."""
    return parse(query, max_tokens=max_tokens)


@lru_cache(maxsize=CACHE_SIZE)
def validated(schema: GraphQLSchema, query: str, max_tokens: int, rules: Rules) -> list[GraphQLError]:
    """The validation errors of ``query``'s document under ``rules``. Keyed by the text, not
    the document: hashing a document walks its whole tree on every request."""
    return validate_document(schema, parsed(query, max_tokens), rules)


# strawberry's default rules (graphql-core's specified rules) and the limits; with the
# introspection rule for viewers who may not see the schema. Made once: the validation cache
# is keyed by the rules, so each viewer kind must always get the very same tuple.
_RULES: dict[tuple[Rules, bool], Rules] = {}


def rules_for(context: Any, limits: Rules) -> Rules:
    """The validation rules of a request by this viewer: GraphQL's, the limits, and in
    production the introspection rule unless the viewer is an admin."""
    reveals = reveals_schema(context)
    known = _RULES.get((limits, reveals))
    if known is None:
        known = (*specified_rules, *limits)
        if not reveals:
            known = (*known, NoSchemaIntrospectionCustomRule)
        _RULES[(limits, reveals)] = known
    return known


class RequestPolicy(SchemaExtension):
    def __init__(self, *, max_tokens: int, rules: Rules) -> None:
        self.max_tokens = max_tokens
        self.rules = rules

    def on_operation(self) -> Iterator[None]:
        execution = self.execution_context
        execution.parse_options["max_tokens"] = self.max_tokens
        execution.validation_rules = rules_for(execution.context, self.rules)
        yield
        result = execution.result
        if result is not None and result.errors:
            result.errors = shape_errors(result.errors, execution.context)

    def on_parse(self) -> Iterator[None]:
        execution = self.execution_context
        execution.graphql_document = parsed(execution.query, self.max_tokens)  # type: ignore[arg-type]
        yield

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        execution.pre_execution_errors = validated(
            execution.schema._schema, execution.query, self.max_tokens,  # type: ignore[arg-type]
            tuple(execution.validation_rules),
        )
        yield

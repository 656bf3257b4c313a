"""A graphql-core execution context with a short path for plain scalar fields.

Most fields of a page are plain attributes of strawberry objects (``id``, ``status``,
``name``...): strawberry marks them "basic" (no resolver) and resolves them with ``getattr``.
graphql-core still treats each like any other field: a ``Path``, a resolve info, strawberry's
wrapper, two awaitable checks and four ``complete_value`` steps; a queue page has some
1,600 of them among its 2,200 fields. Here such a field is read and coerced at once.

The short path changes nothing a client can see. It applies only to a field that is basic,
of a scalar or enum type (possibly non-null), has no arguments and no middleware wraps it.
Anything unusual (``None`` for a non-null field, a value the scalar refuses, an exception)
goes down graphql-core's own path again, which then reports it exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, cast

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
)
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


class _Leaf(NamedTuple):
    attribute: str
    coerce: Callable[[Any], Any]
    nullable: bool


_NOT_PLAIN: Any = object()
# By the field's id (graphql-core's fields are not hashable), with the field kept alive so
# that its id cannot be reused.
_LEAVES: dict[int, tuple[GraphQLField, _Leaf | None]] = {}


def plain_leaf(field_def: GraphQLField) -> _Leaf | None:
    """How to read ``field_def`` directly, or None when it needs graphql-core's full path.

    Computed once per field of the schema (the schema is built once per process)."""
    known = _LEAVES.get(id(field_def))
    if known is not None:
        return known[1]
    leaf = None
    strawberry_field = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (
        isinstance(strawberry_field, StrawberryField)
        and getattr(field_def.resolve, "_is_default", False)  # a basic field: getattr
        and strawberry_field.default_resolver is getattr
        and not field_def.args
    ):
        nullable = not isinstance(field_def.type, GraphQLNonNull)
        named = field_def.type if nullable else field_def.type.of_type  # type: ignore[union-attr]
        if is_leaf_type(named):
            leaf = _Leaf(strawberry_field.python_name, cast(GraphQLLeafType, named).coerce_output_value, nullable)
    _LEAVES[id(field_def)] = (field_def, leaf)
    return leaf


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context, with plain scalar fields read directly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per selection set of this request, its fields and how to read each: a page's 50
        # rows share one selection set (graphql-core memoizes it), so this is made once.
        self._plans: dict[tuple[int, str], tuple[Any, list[tuple[str, Any, _Leaf | None]]]] = {}

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> list[tuple[str, Any, _Leaf | None]]:
        key = (id(grouped_field_set), parent_type.name)
        known = self._plans.get(key)
        if known is not None:
            return known[1]
        fields = parent_type.fields
        plan = []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            field_def = fields.get(node.name.value)  # None for __typename: graphql-core's path
            leaf = plain_leaf(field_def) if field_def is not None and not node.arguments else None
            plan.append((response_name, field_details_list, leaf))
        self._plans[key] = (grouped_field_set, plan)  # the set kept alive: its id stays its own
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """graphql-core's ``execute_fields`` (3.3), with the short path in its loop."""
        # strawberry always passes a manager; it wraps fields only when an extension
        # implements ``resolve`` (none of ours does), and such a middleware must see every field.
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list, leaf in self._plan(parent_type, grouped_field_set):
                if leaf is not None:
                    value = _read(source_value, leaf)
                    if value is not _NOT_PLAIN:
                        results[response_name] = value
                        continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:  # let the fields already started settle, as graphql-core does
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                name = awaitable_fields[0]
                results[name] = await results[name]
            else:
                awaited = await gather_with_cancel(*(results[name] for name in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()


def _read(source: Any, leaf: _Leaf) -> Any:
    """The coerced value, or ``_NOT_PLAIN`` when graphql-core must handle the field."""
    try:
        value = getattr(source, leaf.attribute)
        if value is None:  # null; for a non-null field an error, which graphql-core words
            return None if leaf.nullable else _NOT_PLAIN
        coerced = leaf.coerce(value)
    except Exception:  # noqa: BLE001 - graphql-core runs the field again and reports it
        return _NOT_PLAIN
    if coerced is None or coerced is Undefined:
        return _NOT_PLAIN
    return coerced

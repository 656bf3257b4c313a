"""A graphql-core execution context with short paths for the common shapes of a page.

Most fields of a page are plain attributes of strawberry objects (``id``, ``status``,
``name``, ``node``, ``role``...): strawberry marks them "basic" (no resolver) and resolves
them with ``getattr``. graphql-core still treats each like any other field: a resolve info,
strawberry's wrapper, awaitable checks and, for an object or a list of objects, five layers
of completion per row (``complete_value``, ``complete_list_value``,
``complete_object_value``, ``collect_and_execute_subfields``, ``execute_collected_subfields``)
before the row's own fields run. A queue page has some 1,600 plain scalars, 350 plain object
fields and 750 objects among its 2,200 fields.

Here:

- a plain scalar field is read and coerced at once;
- a plain field whose value is an object, or a list of objects, is read at once and its
  objects' fields are executed directly;
- the value of any other field (a resolver's), when it is an object or a list of objects,
  is completed by the same direct loop;
- an operation whose selections carry no directive collects its fields once, for all its
  requests (``_Memo``): graphql-core collects them for every request.

The short paths change nothing a client can see. They apply only where graphql-core's own
path could not differ: concrete object types (no interface or union to resolve), no
``@defer``/``@stream`` in play, no middleware. Anything unusual (``None`` for a non-null
field, a value the scalar refuses, an awaitable or an exception among a list's items, an
object of the wrong type) goes down graphql-core's own path again before any of the
field's objects ran, and graphql-core then reports it exactly as before. An error raised
while an object's own fields run is handled as graphql-core handles it: located at the
field or item, nulling the nearest nullable one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, cast

from graphql import (
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    Undefined,
    is_leaf_type,
)
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


class _Leaf(NamedTuple):
    """A plain scalar or enum field: the attribute to read and how to coerce it."""

    attribute: str
    coerce: Callable[[Any], Any]
    nullable: bool
    # A value of exactly this type is its own coerced value (str for String and ID, bool
    # for Boolean: graphql-core's serializers return those as they are), so no call.
    exact: type | None


class _Shape(NamedTuple):
    """An object type, or a list of it, that the direct loop can complete."""

    object_type: GraphQLObjectType
    nullable: bool  # the field (or the list) may be null
    is_list: bool
    item_type: GraphQLOutputType | None  # the list's item type, for errors located at an item
    # The type's ``is_type_of`` reads the resolve info: a plain field (which has none)
    # leaves such an object to graphql-core. strawberry's own (for types with interfaces)
    # ignores it.
    type_check_needs_info: bool


class _Branch(NamedTuple):
    """A plain field whose value is an object or a list of objects."""

    attribute: str
    shape: _Shape
    return_type: GraphQLOutputType


class _Call(NamedTuple):
    """A field with a resolver and no arguments: how to call the resolver directly."""

    call: Callable[[Any, Any], Any]  # (source, strawberry info) -> the resolver's value
    field_def: GraphQLField
    field: StrawberryField
    info_class: type


_Plan = list[tuple[str, Any, "_Leaf | _Branch | _Call | None"]]
"""Per field of a selection set: its response name, its field nodes, and how to answer it."""

_NOT_PLAIN: Any = object()
# By the field's or the type's id (graphql-core's are not hashable), with it kept alive so
# that its id cannot be reused. The schema is built once per process: these stay small.
_LEAVES: dict[int, tuple[GraphQLField, _Leaf | _Branch | _Call | None]] = {}
_SHAPES: dict[int, tuple[GraphQLOutputType, _Shape | None]] = {}
_EXACT: dict[int, type] = {id(GraphQLString): str, id(GraphQLID): str, id(GraphQLBoolean): bool}


def shape_of(return_type: GraphQLOutputType) -> _Shape | None:
    """How the direct loop completes a value of ``return_type``, or None when it cannot."""
    known = _SHAPES.get(id(return_type))
    if known is not None:
        return known[1]
    shape = None
    nullable = not isinstance(return_type, GraphQLNonNull)
    inner = return_type if nullable else return_type.of_type  # type: ignore[union-attr]
    if isinstance(inner, GraphQLObjectType):
        shape = _Shape(inner, nullable, False, None, _type_check_needs_info(inner))
    elif isinstance(inner, GraphQLList):
        item_type = inner.of_type
        item = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if isinstance(item, GraphQLObjectType):
            shape = _Shape(item, nullable, True, item_type, _type_check_needs_info(item))
    _SHAPES[id(return_type)] = (return_type, shape)
    return shape


def _type_check_needs_info(object_type: GraphQLObjectType) -> bool:
    check = object_type.is_type_of
    return check is not None and getattr(check, "__module__", None) != GraphQLCoreConverter.__module__


def direct_path(field_def: GraphQLField, schema: GraphQLSchema) -> _Leaf | _Branch | _Call | None:
    """How to answer ``field_def`` directly (read, read an object, call), or None when it
    needs graphql-core's full path.

    Computed once per field of the schema."""
    known = _LEAVES.get(id(field_def))
    if known is not None:
        return known[1]
    found: _Leaf | _Branch | _Call | None = None
    strawberry_field = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if isinstance(strawberry_field, StrawberryField) and strawberry_field.base_resolver is not None:
        found = _direct_call(field_def, strawberry_field, schema)
    elif (
        isinstance(strawberry_field, StrawberryField)
        and getattr(field_def.resolve, "_is_default", False)  # a basic field: getattr
        and strawberry_field.default_resolver is getattr
        and not field_def.args
    ):
        nullable = not isinstance(field_def.type, GraphQLNonNull)
        named = field_def.type if nullable else field_def.type.of_type  # type: ignore[union-attr]
        if is_leaf_type(named):
            found = _Leaf(strawberry_field.python_name, cast(GraphQLLeafType, named).coerce_output_value, nullable,
                          _EXACT.get(id(named)))
        elif (shape := shape_of(field_def.type)) is not None:
            found = _Branch(strawberry_field.python_name, shape, field_def.type)
    _LEAVES[id(field_def)] = (field_def, found)
    return found


def _direct_call(field_def: GraphQLField, field: StrawberryField, schema: GraphQLSchema) -> _Call | None:
    """The resolver of ``field`` as strawberry would call it, when strawberry would add
    nothing but the call: no arguments to convert, no field extension (permissions are
    extensions), no exception handler of the schema's to consult."""
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    resolver = field.base_resolver
    if (
        strawberry_schema is None
        or getattr(strawberry_schema, "exception_handlers", ())
        or resolver is None
        or field_def.args
        or field.arguments
        or field.extensions
        or field.is_subscription
    ):
        return None
    func = resolver.wrapped_func
    pass_self = resolver.self_parameter is not None
    keywords = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None]
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None

    def call(source: Any, info: Any) -> Any:
        kwargs = dict.fromkeys(keywords, source)
        if info_name is not None:
            kwargs[info_name] = info
        return func(source, **kwargs) if pass_self else func(**kwargs)

    return _Call(call, field_def, field, strawberry_schema.config.info_class)


class _Memo:
    """What collecting an operation's fields gives, kept for its next requests.

    graphql-core collects each selection set's fields anew for every request (and memoizes
    them for that request only, by the identity of the field lists it made). For an
    operation whose selections carry no directive, the result depends on the document alone
    (and the schema): the same document (cached parsed, :mod:`smbselect.schema.pipeline`)
    gives the same fields every time. Its requests then share one root field set, so the
    field lists below it are the same objects too, and graphql-core's memo, the plans and
    the subfield sets below are keyed by them across requests."""

    __slots__ = ("operation", "plans", "relevant_sub_fields", "root", "schema", "subfield_sets")

    def __init__(self, operation: OperationDefinitionNode, schema: GraphQLSchema) -> None:
        self.operation, self.schema = operation, schema  # kept alive: their ids key _MEMOS
        self.root: Any = None  # the first request's root grouped field set
        self.relevant_sub_fields: dict[Any, Any] = {}
        self.plans: dict[tuple[int, str], tuple[Any, _Plan]] = {}
        self.subfield_sets: dict[tuple[int, str], tuple[Any, Any]] = {}


# By (operation, schema): the memo, or None for an operation whose fields depend on its
# variables. Bounded like the document cache; cleared whole when full (documents are few).
_MEMOS: dict[tuple[int, int], tuple[OperationDefinitionNode, _Memo | None]] = {}
_MEMO_LIMIT = 512


def _collects_alike(operation: OperationDefinitionNode, fragments: dict[str, Any]) -> bool:
    """Whether ``operation`` collects the same fields for every request: no directive on
    any selection or fragment it uses (@skip/@include read variables, @defer/@stream plan
    deliveries) and no fragment arguments or variables."""
    stack = [operation.selection_set]
    seen: set[str] = set()
    while stack:
        selection_set = stack.pop()
        if selection_set is None:
            continue
        for selection in selection_set.selections:
            if selection.directives:
                return False
            if isinstance(selection, FragmentSpreadNode):
                if getattr(selection, "arguments", None):
                    return False
                name = selection.name.value
                if name in seen:
                    continue
                seen.add(name)
                details = fragments.get(name)
                definition = getattr(details, "definition", None)
                if (definition is None or definition.directives or definition.variable_definitions
                        or getattr(details, "variable_signatures", None)):
                    return False
                stack.append(definition.selection_set)
            else:
                stack.append(getattr(selection, "selection_set", None))
    return True


def _memo_of(operation: OperationDefinitionNode, schema: GraphQLSchema, fragments: dict[str, Any]) -> _Memo | None:
    key = (id(operation), id(schema))
    known = _MEMOS.get(key)
    if known is not None:
        return known[1]
    memo = _Memo(operation, schema) if _collects_alike(operation, fragments) else None
    if len(_MEMOS) >= _MEMO_LIMIT:
        _MEMOS.clear()
    _MEMOS[key] = (operation, memo)
    return memo


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context, with the short paths described above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per selection set, its fields and how to read each: a page's 50 rows share one
        # selection set (graphql-core memoizes it), so this is made once per request, or
        # once per operation (_Memo).
        self._plans: dict[tuple[int, str], tuple[Any, _Plan]] = {}
        # Per (field nodes, object type): the object's grouped field set, or None when
        # graphql-core must collect it itself (@defer below it, or @stream on the field).
        self._subfield_sets: dict[tuple[int, str], tuple[Any, Any]] = {}
        # A middleware (an extension implementing ``resolve``) must see every field.
        self._direct = not (self.middleware_manager is not None and self.middleware_manager.middlewares)

    def execute_root_grouped_field_set(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: Any,
        serially: bool,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """graphql-core's, on the operation's shared root field set and memos (_Memo) when
        its fields do not depend on the request."""
        if self._direct and position_context is None:
            memo = _memo_of(self.operation, self.schema, self.fragments)
            if memo is not None:
                if memo.root is None:  # an operation has one root type: its first set serves
                    memo.root = grouped_field_set
                grouped_field_set = memo.root
                self._relevant_sub_fields = memo.relevant_sub_fields
                self._plans = memo.plans
                self._subfield_sets = memo.subfield_sets
        return super().execute_root_grouped_field_set(root_type, root_value, grouped_field_set, serially,
                                                      position_context)

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> _Plan:
        key = (id(grouped_field_set), parent_type.name)
        known = self._plans.get(key)
        if known is not None:
            return known[1]
        fields = parent_type.fields
        plan: _Plan = []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            field_def = fields.get(node.name.value)  # None for __typename: graphql-core's path
            direct = direct_path(field_def, self.schema) if field_def is not None and not node.arguments else None
            plan.append((response_name, field_details_list, direct))
        self._plans[key] = (grouped_field_set, plan)  # the set kept alive: its id stays its own
        return plan

    def _subfields(self, object_type: GraphQLObjectType, field_details_list: Any) -> Any:
        """The grouped field set of ``object_type`` under these field nodes, or None."""
        key = (id(field_details_list), object_type.name)
        known = self._subfield_sets.get(key)
        if known is not None:
            return known[1]
        grouped = None
        if not any(details.node.directives for details in field_details_list):  # no @stream
            collected = self.collect_subfields(object_type, field_details_list)
            if not collected.new_defer_usages:
                grouped = collected.grouped_field_set
        self._subfield_sets[key] = (field_details_list, grouped)  # kept alive, as in _plan
        return grouped

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """graphql-core's ``execute_fields`` (3.3), with the short paths in its loop."""
        if not self._direct:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        return self._run(parent_type, source_value, path, self._plan(parent_type, grouped_field_set), position_context)

    def _run(self, parent_type: GraphQLObjectType, source_value: Any, path: Path | None, plan: _Plan,
             position_context: Any) -> AwaitableOrValue[dict[str, Any]]:
        """``execute_fields`` over a plan (a list's rows share one, looked up once)."""
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list, direct in plan:
                kind = type(direct)
                if kind is _Leaf:
                    leaf = cast(_Leaf, direct)
                    try:
                        value = getattr(source_value, leaf.attribute)
                    except Exception:  # noqa: BLE001 - graphql-core runs the field again and reports it
                        value = _NOT_PLAIN
                    else:
                        if type(value) is leaf.exact:
                            results[response_name] = value
                            continue
                        value = _coerced(value, leaf)
                    if value is not _NOT_PLAIN:
                        results[response_name] = value
                        continue
                elif kind is _Call:
                    result = self._execute_call(cast(_Call, direct), parent_type, source_value, field_details_list,
                                                Path(path, response_name, parent_type.name), position_context)
                    results[response_name] = result
                    if type(result) is not dict and is_awaitable(result):
                        awaitable_fields.append(response_name)
                    continue
                elif kind is _Branch and position_context is None:
                    value = self._branch(cast(_Branch, direct), source_value, field_details_list,
                                         Path(path, response_name, parent_type.name))
                    if value is not _NOT_PLAIN:
                        results[response_name] = value
                        if type(value) is not dict and is_awaitable(value):
                            awaitable_fields.append(response_name)
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

    def _execute_call(self, call: _Call, parent_type: GraphQLObjectType, source: Any, field_details_list: Any,
                      path: Path, position_context: Any) -> Any:
        """graphql-core's ``execute_field`` for a field with no arguments, calling the
        resolver itself instead of through strawberry's wrappers."""
        field_def = call.field_def
        return_type = field_def.type
        info = self.build_resolve_info(field_def, [details.node for details in field_details_list], parent_type, path)
        try:
            result = call.call(source, call.info_class(_raw_info=info, _field=call.field))
            if self.is_awaitable(result):
                return self.complete_awaitable_value(return_type, field_details_list, info, path, result, position_context)
            completed = self.complete_value(return_type, field_details_list, info, path, result, position_context)
        except Exception as raw_error:  # noqa: BLE001 - any field error, located as graphql-core does
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._await_field(completed, return_type, field_details_list, path)
        return completed

    def _branch(self, branch: _Branch, source: Any, field_details_list: Any, path: Path) -> Any:
        """A plain object field, as ``execute_field`` would answer it, or ``_NOT_PLAIN``."""
        try:
            value = getattr(source, branch.attribute)
        except Exception:  # noqa: BLE001 - graphql-core runs the field again and reports it
            return _NOT_PLAIN
        # Errors of the objects' own fields are this field's, as in execute_field.
        try:
            completed = self._complete(branch.shape, field_details_list, None, path, value)
        except Exception as raw_error:  # noqa: BLE001 - any field error, located as graphql-core does
            self.handle_field_error(raw_error, branch.return_type, field_details_list, path)
            return None
        if completed is _NOT_PLAIN or not self.is_awaitable(completed):
            return completed
        return self._await_field(completed, branch.return_type, field_details_list, path)

    async def _await_field(self, completed: Awaitable[Any], return_type: GraphQLOutputType,
                           field_details_list: Any, path: Path) -> Any:
        try:
            return await completed
        except Exception as raw_error:  # noqa: BLE001 - any field error, located as graphql-core does
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[Any]:
        """graphql-core's ``complete_value``, with objects and lists of objects (a resolver's
        value) completed by the direct loop."""
        if position_context is None and self._direct:
            shape = shape_of(return_type)
            if shape is not None:
                completed = self._complete(shape, field_details_list, info, path, result)
                if completed is not _NOT_PLAIN:
                    return completed
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def _complete(self, shape: _Shape, field_details_list: Any, info: Any, path: Path, value: Any) -> Any:
        """``value`` completed, or ``_NOT_PLAIN`` (before anything ran) when graphql-core must
        complete it: errors and the unusual are worded by graphql-core alone."""
        if value is None:
            return None if shape.nullable else _NOT_PLAIN
        object_type = shape.object_type
        grouped = self._subfields(object_type, field_details_list)
        if grouped is None:
            return _NOT_PLAIN
        is_awaitable = self.is_awaitable
        is_type_of = object_type.is_type_of
        if info is None and shape.type_check_needs_info:
            return _NOT_PLAIN
        if not shape.is_list:
            if isinstance(value, Exception) or is_awaitable(value) or (is_type_of and not is_type_of(value, info)):
                return _NOT_PLAIN
            return self._run(object_type, value, path, self._plan(object_type, grouped), None)
        if not isinstance(value, list | tuple):
            return _NOT_PLAIN
        for item in value:
            if item is None or isinstance(item, Exception) or is_awaitable(item) or (
                is_type_of and not is_type_of(item, info)
            ):
                return _NOT_PLAIN
        item_type = cast(GraphQLOutputType, shape.item_type)
        plan = self._plan(object_type, grouped)
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(value):
                item_path = Path(path, index, None)
                try:
                    item_result = self._run(object_type, item, item_path, plan, None)
                except Exception as raw_error:  # noqa: BLE001 - as complete_list_item_value: the item's error
                    # (raises again for a non-null item: the error nulls the list or above)
                    self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    item_result = None
                else:
                    if type(item_result) is not dict and is_awaitable(item_result):
                        item_result = self._await_field(item_result, item_type, field_details_list, item_path)
                        awaitable_indices.append(index)
                completed.append(item_result)
        except Exception:
            if awaitable_indices:  # the rows already started settle, as graphql-core lets them
                self.settle_in_background([completed[index] for index in awaitable_indices])
            raise
        if not awaitable_indices:
            return completed

        async def get_completed() -> list[Any]:
            awaited = await gather_with_cancel(*(completed[index] for index in awaitable_indices))
            for index, item_result in zip(awaitable_indices, awaited, strict=True):
                completed[index] = item_result
            return completed

        return get_completed()


def speed_up_enums(schema: GraphQLSchema) -> None:
    """Give each of strawberry's enum types a serializer that looks the member up.

    strawberry's ``CustomGraphQLEnumType.coerce_output_value`` walks the enum's values and
    compares ``.value`` with each (an ``enum`` descriptor call each time): an event's kind
    and two statuses took some 16 of those calls. The name of every member is found once
    here, by the member's identity (members are singletons, and ``Enum.__hash__`` is a
    Python call); anything else (a plain string, a member of another enum) goes to
    strawberry's serializer as before. ``tests/test_execution.py`` checks every member."""
    for named in schema.type_map.values():
        wrapped = getattr(named, "wrapped_cls", None)
        if not isinstance(named, GraphQLEnumType) or wrapped is None:
            continue
        name_of_value: dict[Any, str] = {}
        for name, value in named.values.items():
            name_of_value.setdefault(value.value, name)
        names = {id(member): name_of_value[member.value] for member in wrapped if member.value in name_of_value}
        strawberry_way = named.coerce_output_value

        def coerce(output_value: Any, names: dict[int, str] = names, slow: Any = strawberry_way) -> Any:
            name = names.get(id(output_value))
            return name if name is not None else slow(output_value)

        named.coerce_output_value = coerce  # type: ignore[method-assign]
        named.serialize = coerce  # type: ignore[method-assign]


def _coerced(value: Any, leaf: _Leaf) -> Any:
    """``value`` coerced, or ``_NOT_PLAIN`` when graphql-core must handle the field."""
    if value is None:  # null; for a non-null field an error, which graphql-core words
        return None if leaf.nullable else _NOT_PLAIN
    try:
        coerced = leaf.coerce(value)
    except Exception:  # noqa: BLE001 - graphql-core runs the field again and reports it
        return _NOT_PLAIN
    if coerced is None or coerced is Undefined:
        return _NOT_PLAIN
    return coerced

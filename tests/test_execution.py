"""The short paths of smbselect.schema.execution (plain scalar fields, plain object fields,
lists of objects, resolvers called directly) answer exactly what graphql-core's own path
answers: the same data, the same errors at the same paths, the same field order."""

from __future__ import annotations

import datetime
import enum
import warnings
from typing import Any

import pytest
import strawberry
from graphql import DocumentNode, parse
from strawberry.extensions import SchemaExtension

from smbselect.schema.execution import ExecutionContext


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Child(Named):
    name: str
    size: int | None = None

    @strawberry.field
    async def later_size(self) -> int:
        if self.size is None:
            raise ValueError("no size to wait for")
        return self.size

    @strawberry.field
    def upper(self, info: strawberry.Info) -> str:
        assert info.field_name == "upper" and info.path.key == "upper"
        return self.name.upper()


@strawberry.type
class Checked:
    """A type with its own type check, which graphql-core always gives the resolve info."""

    name: str

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        if info is None:
            raise AssertionError("is_type_of without the resolve info")
        return isinstance(obj, Checked)


@strawberry.type
class Item:
    name: str
    count: int
    colour: Colour
    at: datetime.datetime
    note: str | None = None
    label: str = "x"
    child: Child | None = None
    first: Child = strawberry.field(default_factory=lambda: Child(name="first"))
    kids: list[Child] = strawberry.field(default_factory=list)
    maybe_kids: list[Child | None] | None = None
    checked: Checked | None = None

    @strawberry.field
    def made(self) -> list[Child]:  # a resolver's list of objects
        return [Child(name=f"{self.name}-{i}", size=i) for i in range(2)]

    @strawberry.field
    def root_name(self, root: Item) -> str:  # strawberry passes the source as ``root``
        return root.name

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    async def later(self) -> int:
        return self.count + 1


class Broken:
    """A source whose attributes break the field types' promises."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    @property
    def label(self) -> str:
        raise RuntimeError("label went wrong")


ITEMS: list[Any] = []


class Denied(strawberry.BasePermission):
    message = "Not for you."

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return ITEMS

    @strawberry.field
    def strict(self) -> list[Item]:
        return ITEMS

    @strawberry.field
    async def later_items(self) -> list[Item | None]:
        return ITEMS

    @strawberry.field
    def one(self, info: strawberry.Info) -> Item | None:
        return ITEMS[0] if ITEMS else None

    @strawberry.field(permission_classes=[Denied])
    def secret(self) -> str | None:  # a permission is an extension: strawberry's path must run it
        return "leaked"

    @strawberry.field
    def named(self) -> list[Named]:  # an interface: graphql-core's path resolves the types
        return [Child(name="n")]


FAST = strawberry.Schema(query=Query, execution_context_class=ExecutionContext)
PLAIN = strawberry.Schema(query=Query)

DOCUMENTS = [
    "{ items { name count colour at note label } }",
    "{ items { later shout name ... on Item { count } alias: name __typename note } }",
    "{ strict { colour name label } }",
    "{ items { name @skip(if: true) count @include(if: false) at } }",
    "{ items { child { name size upper } first { name } kids { name laterSize } maybeKids { name } } }",
    "{ strict { kids { name size } made { name upper laterSize } rootName } }",
    "{ laterItems { name kids { upper } made { name } } one { name first { name __typename } } }",
    "{ items { kids @include(if: true) { name } first @skip(if: false) { name } } named { name } }",
    "{ one { ...F kids { ...on Child { name } } } } fragment F on Item { first { upper } made { size } }",
    "{ secret items { name checked { name } } }",
]


def _broken(**values: Any) -> Broken:
    base: dict[str, Any] = {"name": "b", "count": 2, "colour": Colour.BLUE, "at": datetime.datetime(2026, 1, 1), "note": "n",
                            "child": None, "first": Child(name="f"), "kids": [], "maybe_kids": None,
                            "checked": None}
    base.update(values)
    return Broken(**base)


CASES = {
    "plain": [Item(name="a", count=1, colour=Colour.RED, at=datetime.datetime(2026, 1, 2, 3, 4, 5)),
              Item(name="b", count=2, colour=Colour.BLUE, at=datetime.datetime(2026, 1, 1), note="n",
                   child=Child(name="c", size=3), kids=[Child(name="k", size=1), Child(name="l", size=2)],
                   maybe_kids=[Child(name="m"), None], checked=Checked(name="c"))],
    "an error inside a list's objects": [
        Item(name="a", count=1, colour=Colour.RED, at=datetime.datetime(2026, 1, 2),
             kids=[Child(name="k", size=1), Child(name="no size")], child=Child(name="c"))],
    "a null after an awaited row": [
        Item(name="a", count=1, colour=Colour.RED, at=datetime.datetime(2026, 1, 2),
             kids=[Child(name="k", size=1), Child(name=None)])],  # type: ignore[arg-type]
    "null in a list of non-null objects": [
        Item(name="a", count=1, colour=Colour.RED, at=datetime.datetime(2026, 1, 2), kids=[None])],  # type: ignore[list-item]
    "an object of the wrong type": [_broken(child="not a child", first=Item, kids=[1, 2], checked=Child(name="x"))],
    "a list that is not a list": [_broken(kids=Child(name="alone"), first=None, maybe_kids=[Child(name="x"), "y"])],
    "null in a non-null field": [_broken(name=None)],
    "a value the scalar refuses": [_broken(count="many")],
    "a value the enum refuses": [_broken(colour="GREEN")],
    "an attribute that raises": [_broken()],
    "no items": [],
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("document", DOCUMENTS)
async def test_same_answer_as_graphql_core(case: str, document: str) -> None:
    ITEMS[:] = CASES[case]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fast = await FAST.execute(document)
        plain = await PLAIN.execute(document)
    # graphql-core settles the rows it started when an error abandons a list; so must the
    # short path: a row left behind says "coroutine ... was never awaited"
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []
    assert fast.data == plain.data
    assert list(map(str, fast.data or {})) == list(map(str, plain.data or {}))
    assert [(e.message, e.path) for e in fast.errors or []] == [(e.message, e.path) for e in plain.errors or []]
    if fast.data and fast.data.get("items"):  # field order, as the document asks
        for fast_row, plain_row in zip(fast.data["items"], plain.data["items"], strict=True):
            assert list(fast_row or {}) == list(plain_row or {})


async def test_errors_are_reported_where_they_happen() -> None:
    ITEMS[:] = [_broken(name=None)]
    result = await FAST.execute("{ items { count name } }")
    assert result.data == {"items": [None]}
    assert result.errors and result.errors[0].path == ["items", 0, "name"]
    assert "non-nullable" in result.errors[0].message


async def test_fields_take_the_short_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    fields: list[str] = []
    original = ExecutionContext.execute_field

    def spy(self: ExecutionContext, parent_type: Any, source: Any, details: Any, *rest: Any) -> Any:
        fields.append(details[0].node.name.value)
        return original(self, parent_type, source, details, *rest)

    monkeypatch.setattr(ExecutionContext, "execute_field", spy)
    ITEMS[:] = CASES["plain"]
    document = "{ items { name count colour at child { name upper } kids { name laterSize } made { name } shout later } secret }"
    result = await FAST.execute(document)
    assert result.errors and [e.message for e in result.errors] == ["Not for you."]
    assert result.data and result.data["items"][1]["kids"] == [{"name": "k", "laterSize": 1}, {"name": "l", "laterSize": 2}]
    assert fields == ["secret"]  # plain, object and resolver fields alike; not the one with a permission


_PARSED: dict[str, DocumentNode] = {}


class CachedParse(SchemaExtension):
    """The requests of one text share one document, as the app's do (its pipeline caches
    them), so the operation memo applies."""

    def on_parse(self) -> Any:
        execution = self.execution_context
        query = execution.query or ""
        if query not in _PARSED:
            _PARSED[query] = parse(query)
        execution.graphql_document = _PARSED[query]
        yield


MEMO = strawberry.Schema(query=Query, execution_context_class=ExecutionContext, extensions=[CachedParse])


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_an_operation_run_again_answers_as_graphql_core(document: str) -> None:
    """Each document, cached, run over every data set in turn (and the first again): the
    fields collected for the first request serve the next ones, whatever their data."""
    for case in [*CASES, next(iter(CASES))]:
        ITEMS[:] = CASES[case]
        memo, plain = await MEMO.execute(document), await PLAIN.execute(document)
        assert memo.data == plain.data, case
        assert [(e.message, e.path) for e in memo.errors or []] == [(e.message, e.path) for e in plain.errors or []]


@pytest.mark.parametrize("document", [
    "query($x: Boolean!) { items { name count @include(if: $x) kids @skip(if: $x) { name } } }",
    "query($x: Boolean!) { items { ...F } } fragment F on Item { name count @include(if: $x) }",
    "query($x: Boolean!) { items { ...F @include(if: $x) name } } fragment F on Item { count }",
])
async def test_fields_chosen_by_variables_are_chosen_per_request(document: str) -> None:
    """@skip and @include read the request's variables: such an operation is collected
    for each request, never from an earlier one's fields."""
    ITEMS[:] = CASES["plain"]
    for x in (True, False, True):
        memo = await MEMO.execute(document, variable_values={"x": x})
        plain = await PLAIN.execute(document, variable_values={"x": x})
        assert not memo.errors and memo.data == plain.data, x
        assert list(memo.data["items"][0]) == list(plain.data["items"][0])  # type: ignore[index]


async def test_an_operation_run_again_collects_no_field(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its second request reuses the first one's collected fields: graphql-core collects
    nothing again (it did for every request before: about a tenth of a `me`)."""
    from graphql.execution import executor

    calls: list[str] = []
    original = executor.collect_subfields

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append("collect")
        return original(*args, **kwargs)

    monkeypatch.setattr(executor, "collect_subfields", spy)
    ITEMS[:] = CASES["plain"]
    document = "{ items { name child { name upper } kids { name laterSize } made { name } } one { name } }"
    first = await MEMO.execute(document)
    assert calls, "the first request collects its fields"
    calls.clear()
    again = await MEMO.execute(document)
    assert again.data == first.data and not again.errors
    assert calls == []


def test_every_enum_member_serializes_as_strawberry_serializes_it():
    """``speed_up_enums`` looks members up by identity: the same names as strawberry's walk
    over the values, for every member of every enum of the real schema; a plain string
    still goes through strawberry's serializer."""
    from graphql import GraphQLEnumType

    from smbselect.schema.root import schema as real

    enums = [t for t in real._schema.type_map.values() if isinstance(t, GraphQLEnumType) and hasattr(t, "wrapped_cls")]
    assert len(enums) > 5
    checked = 0
    for named in enums:
        for member in named.wrapped_cls:
            strawberry_way = type(named).coerce_output_value(named, member)
            assert named.coerce_output_value(member) == named.serialize(member) == strawberry_way
            checked += 1
        some_name = next(iter(named.values))
        assert named.coerce_output_value(some_name) == type(named).coerce_output_value(named, some_name)
    assert checked > 30

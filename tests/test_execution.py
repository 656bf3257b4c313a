"""The short path for plain scalar fields (smbselect.schema.execution) answers exactly what
graphql-core's own path answers: the same data, the same errors, the same field order."""

from __future__ import annotations

import datetime
import enum
from typing import Any

import pytest
import strawberry

from smbselect.schema.execution import ExecutionContext


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Item:
    name: str
    count: int
    colour: Colour
    at: datetime.datetime
    note: str | None = None
    label: str = "x"

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


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return ITEMS

    @strawberry.field
    def strict(self) -> list[Item]:
        return ITEMS


FAST = strawberry.Schema(query=Query, execution_context_class=ExecutionContext)
PLAIN = strawberry.Schema(query=Query)

DOCUMENTS = [
    "{ items { name count colour at note label } }",
    "{ items { later shout name ... on Item { count } alias: name __typename note } }",
    "{ strict { colour name label } }",
    "{ items { name @skip(if: true) count @include(if: false) at } }",
]


def _broken(**values: Any) -> Broken:
    base: dict[str, Any] = {"name": "b", "count": 2, "colour": Colour.BLUE, "at": datetime.datetime(2026, 1, 1), "note": "n"}
    base.update(values)
    return Broken(**base)


CASES = {
    "plain": [Item(name="a", count=1, colour=Colour.RED, at=datetime.datetime(2026, 1, 2, 3, 4, 5)),
              Item(name="b", count=2, colour=Colour.BLUE, at=datetime.datetime(2026, 1, 1), note="n")],
    "null in a non-null field": [_broken(name=None)],
    "a value the scalar refuses": [_broken(count="many")],
    "a value the enum refuses": [_broken(colour="GREEN")],
    "an attribute that raises": [_broken()],
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("document", DOCUMENTS)
async def test_same_answer_as_graphql_core(case: str, document: str) -> None:
    ITEMS[:] = CASES[case]
    fast = await FAST.execute(document)
    plain = await PLAIN.execute(document)
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


async def test_plain_fields_take_the_short_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from smbselect.schema import execution

    read: list[str] = []
    original = execution._read
    monkeypatch.setattr(execution, "_read", lambda source, leaf: read.append(leaf.attribute) or original(source, leaf))
    ITEMS[:] = CASES["plain"]
    result = await FAST.execute("{ items { name shout count } }")
    assert result.errors is None
    assert read == ["name", "count", "name", "count"]  # not `shout`, which has a resolver

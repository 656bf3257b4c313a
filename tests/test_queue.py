"""The approval queue: ``applications(filter, orderBy, first, after)``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from smbselect import ids, testing
from smbselect.db.enums import ApplicationStatus as S
from smbselect.db.models import Application, Location, Partner, Program
from smbselect.plugins import hookimpl, smb_select
from smbselect.resolvers.programs import sync_programs
from smbselect.testing import ADMIN_PASSWORD, PARTNER_PASSWORD, GraphQLClient

QUEUE = """query($filter: ApplicationFilter, $order: ApplicationOrder, $first: Int, $after: String) {
  applications(filter: $filter, orderBy: $order, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id status reviewDueOn location { name } } }
  } }"""

STATUSES = [S.SUBMITTED, S.SUBMITTED, S.IN_PROGRESS, S.NOT_SUBMITTED, S.APPROVED, S.REJECTED,
            S.CHANGES_REQUESTED, S.SUBMITTED, S.WITHDRAWN, S.EXPIRED]
DECIDED_OR_SUBMITTED = {S.SUBMITTED, S.APPROVED, S.REJECTED, S.CHANGES_REQUESTED}
ORDER_KEYS = {
    "REVIEW_DUE_ON": lambda r: r.review_due_on,
    "SUBMITTED_AT": lambda r: r.submitted_at,
    "INVITED_AT": lambda r: r.invited_at,
    "PARTNER_NAME": lambda r: r.partner.name_fold,
}


class SecondProgram:
    """A second program, so that the queue holds two applications per location."""

    program = replace(smb_select.PROGRAM, code="SECOND_PROGRAM", name="Second Program")

    @hookimpl
    def smbselect_programs(self) -> list[Any]:
        return [self.program]


@pytest.fixture
def second_program(app: Any) -> Iterator[None]:
    app.state.plugins.register(SecondProgram(), "second_program")
    yield
    app.state.plugins.unregister("second_program")


@dataclass
class Queue:
    admin: GraphQLClient
    mei: GraphQLClient
    rows: list[Application]  # with partner and location fetched
    programs: dict[str, Program]
    partners: dict[str, Partner]
    locations: dict[str, Location]


@pytest.fixture
async def queue(client: GraphQLClient, world: dict, app: Any, second_program: None) -> Queue:
    """30 applications: 15 locations of 6 partners, two programs each, every status,
    due dates in the past, today and the future, ties in every sort key."""
    await sync_programs(app.state.plugins)
    programs = {p.code: p for p in await Program.filter(code__in=["SMB_SELECT", "SECOND_PROGRAM"])}
    partners = {"Equant": world["equant"], "Nordic Networks": world["nordic"]}
    for name in ("Türkiye Bilişim", "Alpine Systems", "Bravo IT", "Zeta Comms"):
        partners[name] = await testing.make_partner(name)
    locations = {"Equant China": world["china"], "Equant Austria": world["austria"],
                 "Nordic Oslo": world["oslo"]}
    for partner, name, country in [
        ("Türkiye Bilişim", "Ankara Ofis", "TR"), ("Türkiye Bilişim", "Izmir Ofis", "TR"),
        ("Equant", "Equant Brazil", "BR"), ("Nordic Networks", "Nordic Bergen", "NO"),
        ("Alpine Systems", "Alpine Zürich", "CH"), ("Alpine Systems", "Alpine Wien", "AT"),
        ("Alpine Systems", "Alpine Graz", "AT"), ("Bravo IT", "Bravo Lisboa", "PT"),
        ("Bravo IT", "Bravo Porto", "PT"), ("Zeta Comms", "Zeta Paris", "FR"),
        ("Zeta Comms", "Zeta Lyon", "FR"), ("Zeta Comms", "Zeta Nice", "FR"),
    ]:
        locations[name] = await testing.make_location(partners[partner], name, country)
    today = datetime.now(timezone.utc).date()
    base = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    i = 0
    for location in sorted(locations.values(), key=lambda loc: loc.id):
        for code in ("SMB_SELECT", "SECOND_PROGRAM"):
            row = await testing.make_application(code, location, invited_by=world["admin"])
            status = STATUSES[i % len(STATUSES)]
            submitted = status in DECIDED_OR_SUBMITTED
            await Application.filter(id=row.id).update(
                status=status,
                invited_at=base - timedelta(days=i % 6),
                submitted_at=base + timedelta(hours=i % 7) if submitted else None,
                review_due_on=today + timedelta(days=i % 5 - 2) if submitted else None,
            )
            i += 1
    rows = await Application.all().prefetch_related("partner", "location").order_by("id")
    assert len(rows) == 30
    return Queue(
        admin=await client.as_user("admin", ADMIN_PASSWORD),
        mei=await client.as_user("mei.lin", PARTNER_PASSWORD),
        rows=list(rows), programs=programs, partners=partners, locations=locations,
    )


def expected(rows: list[Application], field: str = "REVIEW_DUE_ON", direction: str = "ASC") -> list[int]:
    """The queue's order: by the key, nulls last either way, ties by id ascending."""
    key = ORDER_KEYS[field]
    by_id = sorted(rows, key=lambda r: r.id)
    present = sorted((r for r in by_id if key(r) is not None), key=key, reverse=direction == "DESC")
    return [r.id for r in present] + [r.id for r in by_id if key(r) is None]


def pk(node: dict) -> int:
    found = ids.decode(node["id"], "Application")
    assert found is not None
    return found


async def everything(client: GraphQLClient, flt: dict | None = None, order: dict | None = None,
                     first: int = 7) -> tuple[list[int], list[dict]]:
    """Every page of a query, following endCursor; the ids in order and each page's info."""
    out: list[int] = []
    pages: list[dict] = []
    after = None
    while True:
        page = (await client.data(QUEUE, {"filter": flt, "order": order, "first": first,
                                          "after": after}))["applications"]
        pages.append(page)
        out += [pk(e["node"]) for e in page["edges"]]
        assert len(pages) <= 40, "paging does not end"
        if not page["pageInfo"]["hasNextPage"]:
            return out, pages
        after = page["pageInfo"]["endCursor"]


async def ids_of(client: GraphQLClient, flt: dict | None = None) -> set[int]:
    page = (await client.data(QUEUE, {"filter": flt, "first": 100}))["applications"]
    found = {pk(e["node"]) for e in page["edges"]}
    assert page["totalCount"] == len(found)
    assert page["pageInfo"]["hasNextPage"] is False
    return found


def gid(type_name: str, obj: Any) -> str:
    return ids.encode(type_name, obj.id)


# --- ordering and paging ----------------------------------------------------------------


@pytest.mark.parametrize("field", list(ORDER_KEYS))
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_paging_through_every_order(queue: Queue, field: str, direction: str) -> None:
    # when the admin pages through the whole queue seven at a time
    order = {"field": field, "direction": direction}
    seen, pages = await everything(queue.admin, order=order)
    # then every application comes exactly once, in the order asked for
    assert seen == expected(queue.rows, field, direction)
    assert len(pages) == 5
    assert [len(p["edges"]) for p in pages] == [7, 7, 7, 7, 2]
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, True, True, False]
    assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [False, True, True, True, True]
    assert {p["totalCount"] for p in pages} == {30}
    for p in pages:
        assert p["pageInfo"]["startCursor"] == p["edges"][0]["cursor"]
        assert p["pageInfo"]["endCursor"] == p["edges"][-1]["cursor"]


async def test_default_order_is_review_due_on_ascending_nulls_last(queue: Queue) -> None:
    page = (await queue.admin.data(QUEUE, {"first": 30}))["applications"]
    assert [pk(e["node"]) for e in page["edges"]] == expected(queue.rows)
    dues = [e["node"]["reviewDueOn"] for e in page["edges"]]
    present = [d for d in dues if d is not None]
    assert present == sorted(present)
    assert dues[len(present):] == [None] * (30 - len(present))
    assert page["pageInfo"]["hasNextPage"] is False


async def test_default_page_size_is_20(queue: Queue) -> None:
    page = (await queue.admin.data(QUEUE, {}))["applications"]
    assert len(page["edges"]) == 20 and page["pageInfo"]["hasNextPage"] is True


async def test_cursors_stay_valid_when_applications_are_added(queue: Queue, world: dict) -> None:
    # given the admin has read the first page by due date
    order = {"field": "REVIEW_DUE_ON", "direction": "ASC"}
    first = (await queue.admin.data(QUEUE, {"order": order, "first": 7}))["applications"]
    # when an application with the earliest due date of all arrives
    newcomer = await testing.make_application(
        "SMB_SELECT", await testing.make_location(queue.partners["Bravo IT"], "Bravo Faro", "PT")
    )
    await Application.filter(id=newcomer.id).update(status=S.SUBMITTED, review_due_on=date(2000, 1, 3),
                                                    submitted_at=datetime(2000, 1, 1, tzinfo=timezone.utc))
    # then the next pages go on after the last one read, missing nothing and repeating nothing
    rest: list[int] = []
    after = first["pageInfo"]["endCursor"]
    while after:
        page = (await queue.admin.data(QUEUE, {"order": order, "first": 7, "after": after}))["applications"]
        rest += [pk(e["node"]) for e in page["edges"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert [pk(e["node"]) for e in first["edges"]] + rest == expected(queue.rows)


# --- filters ----------------------------------------------------------------------------


async def test_filter_by_status(queue: Queue) -> None:
    wanted = {r.id for r in queue.rows if r.status in (S.SUBMITTED, S.CHANGES_REQUESTED)}
    assert await ids_of(queue.admin, {"status": ["SUBMITTED", "CHANGES_REQUESTED"]}) == wanted
    assert await ids_of(queue.admin, {"status": []}) == {r.id for r in queue.rows}


async def test_filter_by_program(queue: Queue) -> None:
    second = queue.programs["SECOND_PROGRAM"]
    wanted = {r.id for r in queue.rows if r.program_id == second.id}
    assert len(wanted) == 15
    assert await ids_of(queue.admin, {"programIds": [gid("Program", second)]}) == wanted
    both = [gid("Program", p) for p in queue.programs.values()]
    assert await ids_of(queue.admin, {"programIds": both}) == {r.id for r in queue.rows}
    assert await ids_of(queue.admin, {"programIds": []}) == set()
    assert await ids_of(queue.admin, {"programIds": ["not-an-id"]}) == set()


async def test_filter_by_partner_and_location(queue: Queue) -> None:
    alpine = queue.partners["Alpine Systems"]
    assert await ids_of(queue.admin, {"partnerId": gid("Partner", alpine)}) == {
        r.id for r in queue.rows if r.partner_id == alpine.id
    }
    zurich = queue.locations["Alpine Zürich"]
    assert await ids_of(queue.admin, {"locationId": gid("Location", zurich)}) == {
        r.id for r in queue.rows if r.location_id == zurich.id
    }
    # both together, and a location of another partner
    assert len(await ids_of(queue.admin, {"partnerId": gid("Partner", alpine),
                                          "locationId": gid("Location", zurich)})) == 2
    assert await ids_of(queue.admin, {"partnerId": gid("Partner", alpine),
                                      "locationId": gid("Location", queue.locations["Zeta Nice"])}) == set()
    # an unknown or malformed id finds nothing (rather than everything)
    assert await ids_of(queue.admin, {"partnerId": "garbage"}) == set()
    assert await ids_of(queue.admin, {"locationId": ids.encode("Location", 99999)}) == set()


async def test_search_is_unicode_aware(queue: Queue) -> None:
    turkish = {r.id for r in queue.rows if r.partner.name == "Türkiye Bilişim"}
    assert len(turkish) == 4
    # the partner's name: TÜRK finds Türkiye (SQLite's LIKE alone would not)
    assert await ids_of(queue.admin, {"search": "TÜRK"}) == turkish
    assert await ids_of(queue.admin, {"search": "  bilişim "}) == turkish
    # the location's name
    assert await ids_of(queue.admin, {"search": "izmir"}) == {
        r.id for r in queue.rows if r.location.name == "Izmir Ofis"
    }
    assert await ids_of(queue.admin, {"search": "ZÜRICH"}) == {
        r.id for r in queue.rows if r.location.name == "Alpine Zürich"
    }
    assert await ids_of(queue.admin, {"search": "Oslo"}) == {
        r.id for r in queue.rows if r.location.name == "Nordic Oslo"
    }
    # either name; nothing for a stranger; blank is no filter
    assert await ids_of(queue.admin, {"search": "nordic"}) == {
        r.id for r in queue.rows if r.partner.name == "Nordic Networks"
    }
    assert await ids_of(queue.admin, {"search": "no such partner"}) == set()
    assert await ids_of(queue.admin, {"search": "   "}) == {r.id for r in queue.rows}
    # percent and underscore are text, not wildcards
    assert await ids_of(queue.admin, {"search": "%"}) == set()
    assert await ids_of(queue.admin, {"search": "_"}) == set()


async def test_overdue(queue: Queue) -> None:
    today = datetime.now(timezone.utc).date()
    overdue = {r.id for r in queue.rows
               if r.status == S.SUBMITTED and r.review_due_on is not None and r.review_due_on < today}
    past_but_decided = {r.id for r in queue.rows
                        if r.status != S.SUBMITTED and r.review_due_on is not None and r.review_due_on < today}
    due_today = {r.id for r in queue.rows if r.status == S.SUBMITTED and r.review_due_on == today}
    assert overdue and past_but_decided and due_today  # the data covers every case
    assert await ids_of(queue.admin, {"overdue": True}) == overdue
    assert await ids_of(queue.admin, {"overdue": False}) == {r.id for r in queue.rows} - overdue
    assert await ids_of(queue.admin, {"overdue": None}) == {r.id for r in queue.rows}
    # with other filters
    assert await ids_of(queue.admin, {"overdue": True, "search": "zeta"}) == {
        r.id for r in queue.rows if r.id in overdue and r.partner.name == "Zeta Comms"
    }


async def test_filters_and_order_page_together(queue: Queue) -> None:
    flt = {"status": ["SUBMITTED", "APPROVED", "REJECTED"], "programIds": [gid("Program", queue.programs["SMB_SELECT"])]}
    order = {"field": "SUBMITTED_AT", "direction": "DESC"}
    seen, pages = await everything(queue.admin, flt, order, first=3)
    rows = [r for r in queue.rows if r.status in (S.SUBMITTED, S.APPROVED, S.REJECTED)
            and r.program_id == queue.programs["SMB_SELECT"].id]
    assert seen == expected(rows, "SUBMITTED_AT", "DESC")
    assert {p["totalCount"] for p in pages} == {len(rows)}


# --- what a partner sees ----------------------------------------------------------------


async def test_a_partner_sees_only_the_locations_they_act_for(queue: Queue, world: dict) -> None:
    china = {r.id for r in queue.rows if r.location_id == world["china"].id}
    assert len(china) == 2
    assert await ids_of(queue.mei) == china
    seen, pages = await everything(queue.mei, order={"field": "PARTNER_NAME", "direction": "DESC"}, first=1)
    assert sorted(seen) == sorted(china) and len(pages) == 2
    # whatever the filter
    assert await ids_of(queue.mei, {"partnerId": gid("Partner", world["nordic"])}) == set()
    assert await ids_of(queue.mei, {"partnerId": gid("Partner", world["equant"])}) == china
    assert await ids_of(queue.mei, {"locationId": gid("Location", world["austria"])}) == set()
    assert await ids_of(queue.mei, {"locationId": gid("Location", world["oslo"])}) == set()
    assert await ids_of(queue.mei, {"search": "TÜRK"}) == set()
    assert await ids_of(queue.mei, {"search": "equant"}) == china
    assert await ids_of(queue.mei, {"status": [s.value for s in S]}) == china
    assert await ids_of(queue.mei, {"overdue": False}) | await ids_of(queue.mei, {"overdue": True}) == china
    # and li, who acts for China and Austria, sees both
    li = await queue.admin.as_user("li.wei", PARTNER_PASSWORD)
    assert await ids_of(li) == {r.id for r in queue.rows
                                if r.location_id in (world["china"].id, world["austria"].id)}


async def test_the_queue_needs_a_login(queue: Queue) -> None:
    answer = await queue.admin.gql(QUEUE, {}, token="")
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["UNAUTHENTICATED"]


# --- bad paging arguments ---------------------------------------------------------------


@pytest.mark.parametrize("variables", [
    {"first": 101},
    {"first": -1},
    {"first": 5, "after": "not a cursor!"},
    {"first": 5, "after": "WzFd"},  # [1]
    {"first": 5, "after": "WyIyMDI2LTAxLTAxIiwgIngiXQ"},  # ["2026-01-01", "x"]
    {"first": 5, "after": "WyJub3QgYSBkYXRlIiwgMV0"},  # ["not a date", 1]
])
async def test_bad_paging_arguments_are_a_client_error(queue: Queue, variables: dict) -> None:
    response = await queue.admin.post(QUEUE, variables)
    assert response.status_code < 500
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["path"] == ["applications"]


async def test_first_100_and_0_are_allowed(queue: Queue) -> None:
    assert len((await queue.admin.data(QUEUE, {"first": 100}))["applications"]["edges"]) == 30
    empty = (await queue.admin.data(QUEUE, {"first": 0}))["applications"]
    assert empty["edges"] == [] and empty["totalCount"] == 30


@pytest.mark.parametrize("field", list(ORDER_KEYS))
@pytest.mark.parametrize("after", [
    "WyIyMDI2LTAxLTAxIiwgOTk5OTk5OTk5OTk5OTk5OTk5OTld",  # ["2026-01-01", 99999999999999999999]
    "WyIyMDI2LTAxLTAxIiwgMWUrMzAwXQ",  # ["2026-01-01", 1e300]
    "W251bGwsIDEwOTk1MTE2Mjc3NzZd",  # [null, 2**40]
    "WyJhXHUwMDAwYiIsIDFd",  # ["a\u0000b", 1]
    "WyIyMDI2LTAxLTAxIiwgLTVd",  # ["2026-01-01", -5]
    "W3siYSI6IDF9LCAxXQ",  # [{"a": 1}, 1]
    "W1sxXSwgMV0",  # [[1], 1]
])
async def test_a_forged_cursor_is_never_a_server_error(queue: Queue, field: str, after: str) -> None:
    response = await queue.admin.post(QUEUE, {"order": {"field": field}, "first": 5, "after": after})
    assert response.status_code < 500
    for error in response.json().get("errors") or []:
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error


@pytest.mark.parametrize("search", ["a\u0000b", "x" * 10_000, "\U0001f600", "İstanbul"])
async def test_an_odd_search_is_never_a_server_error(queue: Queue, search: str) -> None:
    response = await queue.admin.post(QUEUE, {"filter": {"search": search}})
    assert response.status_code < 500
    for error in response.json().get("errors") or []:
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error

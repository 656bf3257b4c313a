"""The queue's search reads trigram indexes (issue 6): FTS5 on SQLite, pg_trgm on PostgreSQL.

It must answer exactly what a substring test of the folded names answers, whatever the
needle (short, Unicode, LIKE wildcards, FTS5 query syntax), stay right when names change
(the SQLite index is kept by triggers), and the database must really use the index.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from smbselect import testing
from smbselect.db import search
from smbselect.db.models import Location, Partner, fold
from smbselect.testing import GraphQLClient

SEARCH = """query($filter: ApplicationFilter) {
  applications(filter: $filter, first: 100) {
    totalCount
    edges { node { id location { name partner { name } } } } } }"""

# (partner, its one location); each location has one application
NAMES = [
    ("Türkiye Bilişim", "Ankara Ofis"),
    ("Alpine Systems", "Zürich Büro"),
    ('Quote "Q" Star*', "O'Brien (Cork)"),
    ("Or Else OR NEAR(x)", "Lyon AND Nice"),
    ("100% Net_works", "Back\\Slash Office"),
    ("Straße Partner", "München"),
]


@pytest.fixture
async def named(admin_client: GraphQLClient) -> GraphQLClient:
    for partner_name, location_name in NAMES:
        partner = await testing.make_partner(partner_name)
        location = await testing.make_location(partner, location_name, "AT")
        await testing.make_application("SMB_SELECT", location)
    return admin_client


async def found(client: GraphQLClient, needle: str) -> set[str]:
    """The location names of the applications the search finds."""
    page = (await client.data(SEARCH, {"filter": {"search": needle}}))["applications"]
    names = {e["node"]["location"]["name"] for e in page["edges"]}
    assert page["totalCount"] == len(page["edges"]) == len(names)
    return names


def substring_oracle(needle: str, names: list[tuple[str, str]] = NAMES) -> set[str]:
    """What the search must answer: locations whose or whose partner's folded name
    contains the folded, stripped needle."""
    n = fold(needle.strip())
    return {loc for partner, loc in names if n in fold(partner) or n in fold(loc)}


# --- what it finds -----------------------------------------------------------------------


async def test_search_is_unicode_aware(named: GraphQLClient) -> None:
    assert await found(named, "TÜRK") == {"Ankara Ofis"}
    assert await found(named, "bilişim") == {"Ankara Ofis"}
    assert await found(named, "  Bilişim ") == {"Ankara Ofis"}
    assert await found(named, "STRASSE") == {"München"}  # ß folds to ss
    assert await found(named, "münchen") == {"München"}


async def test_short_needles_are_found_without_the_index(named: GraphQLClient) -> None:
    # one and two characters hold no trigram: they are searched another way, same answers
    assert await found(named, "Ü") == {"Ankara Ofis", "Zürich Büro", "München"}
    assert await found(named, "zü") == {"Zürich Büro"}
    assert await found(named, "ss") == {"München"}
    assert await found(named, "q") == {"O'Brien (Cork)"}
    assert await found(named, "xy") == set()
    # three is the first length the trigram index serves
    assert await found(named, "alp") == {"Zürich Büro"}
    assert await found(named, "nkaR") == {"Ankara Ofis"}


async def test_location_names_are_searched_too(named: GraphQLClient) -> None:
    assert await found(named, "ankara") == {"Ankara Ofis"}
    assert await found(named, "ZÜRICH bü") == {"Zürich Büro"}
    assert await found(named, "office") == {"Back\\Slash Office"}


async def test_wildcards_and_query_syntax_match_literally(named: GraphQLClient) -> None:
    assert await found(named, "%") == {"Back\\Slash Office"}
    assert await found(named, "_") == {"Back\\Slash Office"}
    assert await found(named, "0% net_w") == {"Back\\Slash Office"}
    assert await found(named, "1%w") == set()  # % is no wildcard
    assert await found(named, "n_t") == set()  # nor is _
    assert await found(named, "_s") == set()
    assert await found(named, "\\") == {"Back\\Slash Office"}
    assert await found(named, "k\\s") == {"Back\\Slash Office"}
    assert await found(named, '"') == {"O'Brien (Cork)"}
    assert await found(named, '"q" star*') == {"O'Brien (Cork)"}
    assert await found(named, "*") == {"O'Brien (Cork)"}
    assert await found(named, "r*") == {"O'Brien (Cork)"}
    assert await found(named, "'") == {"O'Brien (Cork)"}
    assert await found(named, "o'b") == {"O'Brien (Cork)"}
    assert await found(named, "(cork)") == {"O'Brien (Cork)"}
    assert await found(named, "(") == {"O'Brien (Cork)", "Lyon AND Nice"}
    assert await found(named, "near(x)") == {"Lyon AND Nice"}
    assert await found(named, "Else OR NEAR") == {"Lyon AND Nice"}
    assert await found(named, "else or") == {"Lyon AND Nice"}
    assert await found(named, "alpine OR zeta") == set()
    assert await found(named, "alpine AND systems") == set()
    assert await found(named, "NEAR(alpine systems)") == set()
    assert await found(named, "alp*") == set()
    assert await found(named, "^alp") == set()
    assert await found(named, "name_fold:alpine") == set()
    assert await found(named, '"alpine"') == set()
    assert await found(named, "NOT alpine") == set()


@pytest.mark.parametrize("needle", [
    "a", "e", "or", "OR", " or ", "OR b", "and", "AND", "NOT", "near", "(", ")", "()", "x)",
    "%", "%%", "_", "__", "\\", "\\\\", '"', '""', '"""', "*", "**", "'", "''", "-", "+", ":",
    "^", "{", "}", "[x]", "0% ", "t_w", "ß", "SS", "İ", "ı", "büro", "o", "of", "ofi", "ofis",
])
async def test_every_needle_answers_what_a_substring_test_answers(
    named: GraphQLClient, needle: str
) -> None:
    assert await found(named, needle) == substring_oracle(needle)


# --- names that change --------------------------------------------------------------------


async def test_a_renamed_partner_is_found_by_its_new_name_only(named: GraphQLClient) -> None:
    partner = await Partner.get(name="Alpine Systems")
    partner.name = "Gletscher Netz"
    await partner.save()
    assert await found(named, "gletscher") == {"Zürich Büro"}
    assert await found(named, "alpine") == set()
    # a bulk update, too (it writes name_fold itself)
    await Partner.filter(id=partner.id).update(name="Firn Data", name_fold=fold("Firn Data"))
    assert await found(named, "FIRN") == {"Zürich Büro"}
    assert await found(named, "gletscher") == set()
    # saving without a change of the name keeps it findable
    await partner.refresh_from_db()
    partner.registered = False
    await partner.save()
    assert await found(named, "firn data") == {"Zürich Büro"}


async def test_a_renamed_location_is_found_by_its_new_name_only(named: GraphQLClient) -> None:
    location = await Location.get(name="Ankara Ofis")
    location.name = "İzmir Şube"
    await location.save()
    assert await found(named, "izmir") == set()  # "İ" folds to "i̇", with a dot
    assert await found(named, "zmir şube") == {"İzmir Şube"}
    assert await found(named, "ankara") == set()
    assert await found(named, "türkiye") == {"İzmir Şube"}  # still by its partner


async def test_deleted_and_absent_names_are_not_found(named: GraphQLClient) -> None:
    # given a partner and a location without applications, found by the index, then deleted
    ghost = await testing.make_partner("Ghost Partner")
    haunt = await testing.make_location(ghost, "Haunted Place", "AT")
    d = search.dialect()
    assert await matching_ids("partner", "ghost", d) == {ghost.id}
    assert await matching_ids("location", "haunted", d) == {haunt.id}
    await haunt.delete()
    await ghost.delete()
    # then the index forgets them
    assert await matching_ids("partner", "ghost", d) == set()
    assert await matching_ids("location", "haunted", d) == set()
    assert await found(named, "ghost") == set()
    # and a new partner with a location and an application is found by its name only
    fresh = await testing.make_partner("Fresh Partner")
    place = await testing.make_location(fresh, "Fresh Place", "AT")
    await testing.make_application("SMB_SELECT", place)
    assert await found(named, "fresh") == {"Fresh Place"}
    assert await found(named, "ghost") == set()
    assert await found(named, "haunted") == set()
    assert await found(named, "no such name") == set()


async def test_the_index_follows_emptying_the_tables(named: GraphQLClient) -> None:
    # testing.truncate_all (between tests) deletes every row: the index must follow
    await testing.truncate_all()
    for table in search.SEARCHED:
        assert await matching_ids(table, "a", search.dialect()) == set()
        assert await matching_ids(table, "ankara", search.dialect()) == set()


async def matching_ids(table: str, needle: str, dialect: str) -> set[int]:
    sql, parameter = search.ids_containing(table, fold(needle), dialect)
    conn = Tortoise.get_connection("default")
    if dialect == "postgres":
        sql = sql.replace("?", "$1")
    rows = await conn.execute_query_dict(sql, [parameter])
    return {r["id"] if "id" in r else r["rowid"] for r in rows}


# --- the plan uses the index --------------------------------------------------------------


@pytest.fixture
def executed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every (sql, values) the default connection runs from now on."""
    cls = type(Tortoise.get_connection("default"))
    original = cls.execute_query
    out: list[tuple[str, Any]] = []

    async def recording(self: Any, query: str, values: list | None = None) -> Any:
        out.append((query, values))
        return await original(self, query, values)

    monkeypatch.setattr(cls, "execute_query", recording)
    return out


def _reads_names(sql: str) -> bool:
    return "_fts" in sql or "name_fold LIKE" in sql or "instr(name_fold" in sql


async def search_sql(
    client: GraphQLClient, executed: list[tuple[str, Any]], needle: str
) -> tuple[str, Any]:
    """The SQL (and its values) that reads the names matching a queue search."""
    executed.clear()
    await found(client, needle)
    selects = [(sql, values) for sql, values in executed  # (not PostgreSQL's sample of names)
               if _reads_names(sql) and 'FROM "application"' not in sql and "pg_class" not in sql]
    assert len(selects) == 1, [s for s, _ in executed]
    return selects[0]


async def test_a_needle_matching_many_names_filters_by_subqueries(
    named: GraphQLClient, executed: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over NAMES_AT_MOST matching names the page's own statement reads the index (so the
    queue's ordered index can stop at a full page); the answer is the same."""
    few = await found(named, "bilişim")
    monkeypatch.setattr(search, "NAMES_AT_MOST", 0)
    executed.clear()
    assert await found(named, "bilişim") == few
    page = [sql for sql, _ in executed if 'FROM "application"' in sql and _reads_names(sql)]
    assert page, [sql for sql, _ in executed]


async def test_a_common_word_on_postgresql_skips_counting_the_names(
    named: GraphQLClient, executed: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL judges a needle from a sample of the names first (search.looks_common):
    a common one goes row by row without reading its names; the answer is the same. SQLite
    reads the names from its FTS5 tables as before."""
    expected = await found(named, "bilişim")
    monkeypatch.setattr(search, "NAMES_AT_MOST", 0)
    monkeypatch.setattr(search, "SAMPLE", 2)  # the first two partners; "Türkiye Bilişim" is one
    search.forget()  # the verdict of the full sample, remembered by the first search above
    conn = Tortoise.get_connection("default")
    if search.dialect() == "postgres":
        await conn.execute_script("ANALYZE partner; ANALYZE location")  # the tables' size estimate
        assert await search.looks_common("bilişim") and not await search.looks_common("zzqq")
    executed.clear()
    assert await found(named, "bilişim") == expected
    counted = [sql for sql, _ in executed if "found.*" in sql]
    assert (not counted) if search.dialect() == "postgres" else counted, [sql for sql, _ in executed]


async def test_the_samples_verdict_is_remembered_and_only_picks_the_plan(
    named: GraphQLClient, executed: list
) -> None:
    """PostgreSQL: the second search for a needle does not sample the names again; a verdict
    that is wrong either way (the data changed since) gives the same rows; a stale one is
    asked again."""
    if search.dialect() != "postgres":
        pytest.skip("the sample and its verdict are PostgreSQL's (SQLite reads its FTS5 tables)")
    executed.clear()
    expected = await found(named, "bilişim")
    assert [sql for sql, _ in executed if "reltuples" in sql], "the first search samples"
    executed.clear()
    assert await found(named, "bilişim") == expected
    sampled = [sql for sql, _ in executed if "reltuples" in sql]
    assert not sampled, sampled
    for verdict in (True, False):
        search._verdicts["bilişim"] = (time.monotonic(), verdict)
        assert await found(named, "bilişim") == expected
    search._verdicts["bilişim"] = (time.monotonic() - search.VERDICT_SECONDS - 1, True)  # stale
    executed.clear()
    await found(named, "bilişim")
    assert [sql for sql, _ in executed if "reltuples" in sql], "a stale verdict is asked again"


async def test_the_names_are_read_from_the_trigram_indexes(named: GraphQLClient, executed: list) -> None:
    """SQLite: the FTS5 tables, and neither table of names scanned; PostgreSQL: both GIN
    trigram indexes (with sequential scans off, as on a few rows the planner would scan)."""
    sql, values = await search_sql(named, executed, "bilişim")
    if search.dialect() == "sqlite":
        conn = Tortoise.get_connection("default")
        plan = [r["detail"] for r in await conn.execute_query_dict("EXPLAIN QUERY PLAN " + sql, values)]
        assert any("partner_fts VIRTUAL TABLE" in step for step in plan), plan
        assert any("location_fts VIRTUAL TABLE" in step for step in plan), plan
        assert not [step for step in plan if step in ("SCAN partner", "SCAN location")
                    or step.startswith(("SCAN partner ", "SCAN location "))], plan
    else:
        async with in_transaction() as tx:
            await tx.execute_script("SET LOCAL enable_seqscan = off")
            rows = await tx.execute_query_dict("EXPLAIN " + sql, values)
        plan = "\n".join(r["QUERY PLAN"] for r in rows)
        assert "partner_name_fold_trgm" in plan, plan
        assert "location_name_fold_trgm" in plan, plan


def test_needles_are_quoted_for_fts5_and_escaped_for_like() -> None:
    assert search.fts5_phrase('a "b" OR c*') == '"a ""b"" OR c*"'
    assert search.like_contains("1%_\\x") == "%1\\%\\_\\\\x%"
    sql, parameter = search.ids_containing("partner", "ab", "sqlite")
    assert "instr" in sql and parameter == "ab"
    sql, parameter = search.ids_containing("partner", "abc", "sqlite")
    assert "MATCH" in sql and parameter == '"abc"'
    with pytest.raises(ValueError):
        search.ids_containing("user", "abc", "sqlite")


# --- the approval queue's order uses its index ------------------------------------------------

APPROVAL_QUEUE = """{ applications(first: 50, filter: {status: [SUBMITTED, CHANGES_REQUESTED]},
  orderBy: {field: REVIEW_DUE_ON}) { edges { node { id } } } }"""


async def page_plan(client: GraphQLClient, executed: list, document: str) -> str:
    """The plan of the subquery that chooses a list page's ids. On PostgreSQL sequential
    scans, bitmaps and sorts are off: on a few rows the planner would rather sort, and this
    shows whether an index can give the order by itself."""
    executed.clear()
    await client.data(document)
    pages = [(sql, values) for sql, values in executed if 'FROM "application"' in sql and "LIMIT" in sql]
    assert len(pages) == 1, [s for s, _ in executed]
    sql, values = pages[0]
    inner = sql[sql.index("(SELECT"):]  # the subquery that chooses the page's ids
    inner = inner[1:inner.rindex(")")]
    conn = Tortoise.get_connection("default")
    if search.dialect() == "sqlite":
        rows = await conn.execute_query_dict("EXPLAIN QUERY PLAN " + inner, values)
        return "\n".join(r["detail"] for r in rows)
    async with in_transaction() as tx:
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            await tx.execute_script(f"SET LOCAL {setting} = off")
        rows = await tx.execute_query_dict("EXPLAIN " + inner, values)
    return "\n".join(r["QUERY PLAN"] for r in rows)


def sorts_everything(plan: str) -> bool:
    """A sort of every matching row; sorting only the ties of an index's order (SQLite's
    "RIGHT PART", PostgreSQL's incremental sort) is fine."""
    lines = plan.splitlines()
    return any("USE TEMP B-TREE FOR ORDER BY" in line for line in lines) or any(
        "Sort" in line and "Incremental Sort" not in line and "Presorted Key" not in line
        and "Sort Key" not in line for line in lines)


async def test_the_approval_queue_reads_its_page_from_the_queue_index(
    named: GraphQLClient, executed: list
) -> None:
    """PostgreSQL: the page's ids come from the partial index of the approval queue, read in
    order, never a sort of every submitted application. SQLite cannot read two statuses in
    one order: it reads them from a (status, nulls flag, review_due_on) index, no table scan,
    and keeps the first rows of the sort."""
    plan = await page_plan(named, executed, APPROVAL_QUEUE)
    if search.dialect() == "sqlite":
        assert "COVERING INDEX application_queue_order" in plan or "COVERING INDEX application_status_review_due_on" in plan, plan
    else:
        assert "application_review_queue" in plan, plan
        assert not sorts_everything(plan), plan


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
@pytest.mark.parametrize("order", ["REVIEW_DUE_ON", "SUBMITTED_AT", "INVITED_AT"])
@pytest.mark.parametrize("status", ["", "status: [APPROVED]", "status: [SUBMITTED, CHANGES_REQUESTED]"])
async def test_every_order_of_the_list_reads_an_index(
    named: GraphQLClient, executed: list, status: str, order: str, direction: str
) -> None:
    """The admins' list (one status or all, any order, either direction; migration 0008):
    on PostgreSQL every page is read in an index's order, never sorted from every matching
    application. SQLite gets one (0008's ``SQLITE``: its planner mistook others for the
    approval queue's): there, the applications of the statuses asked for are found by index
    and sorted, and all statuses are read in order by invitation date only."""
    document = f"""{{ applications(first: 20, filter: {{{status}}},
      orderBy: {{field: {order}, direction: {direction}}}) {{ edges {{ node {{ id }} }} }} }}"""
    plan = await page_plan(named, executed, document)
    if search.dialect() == "postgres":
        assert not sorts_everything(plan), plan
    elif order == "INVITED_AT" and not status:
        assert not sorts_everything(plan), plan
    elif status:
        assert "SEARCH application USING" in plan, plan  # by status, then sorted
    else:
        assert sorts_everything(plan), plan  # the limitation stated above, as it is


async def test_the_partner_name_order_reads_the_partners_index(named: GraphQLClient, executed: list) -> None:
    """PostgreSQL: the page by partner name walks partner.name_fold's index and each
    partner's applications (the always-true "name is not null" lets it join inner)."""
    plan = await page_plan(named, executed, """{ applications(first: 20, filter: {status: [APPROVED]},
      orderBy: {field: PARTNER_NAME}) { edges { node { id } } } }""")
    if search.dialect() == "postgres":
        assert "idx_partner_name_fo" in plan and not sorts_everything(plan), plan
    else:
        assert "SCAN application" not in plan, plan  # by status, then a sort of those

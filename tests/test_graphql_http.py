"""The short path of ``POST /graphql`` (smbselect/graphql_http.py) answers exactly as
strawberry's view does: every request below is sent twice, once as the server answers it and
once with the short path switched off, and the two answers are compared (status, content
type, JSON); the test also checks which path answered."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from smbselect.graphql_http import GraphQLEndpoint
from smbselect.settings import Settings

ME = "query Me { me { id username name role active } }"
TWO_OPERATIONS = "query A { me { id } } query B { me { username } }"


class Paths:
    """Switches the short path off (``strawberry_only``) and records whether it answered."""

    def __init__(self) -> None:
        self.strawberry_only = False
        self.answered: list[bool] = []


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> Paths:
    state = Paths()
    original = GraphQLEndpoint.answer

    async def answer(self: GraphQLEndpoint, request: Any, body: bytes) -> Any:
        result = None if state.strawberry_only else await original(self, request, body)
        state.answered.append(result is not None)
        return result

    monkeypatch.setattr(GraphQLEndpoint, "answer", answer)
    return state


def _normalised(response: httpx.Response) -> tuple[int, str, Any]:
    kind = response.headers.get("content-type", "").split(";")[0]
    if kind != "application/json":
        return response.status_code, kind, response.text
    body = response.json()
    for error in body.get("errors") or []:
        if "requestId" in (error.get("extensions") or {}):
            assert error["extensions"]["requestId"] == response.headers["x-request-id"]
            error["extensions"]["requestId"] = "<the request's id>"
    return response.status_code, kind, body


async def _both(http: httpx.AsyncClient, paths: Paths, body: bytes | str, token: str | None,
                content_type: str = "application/json") -> tuple[tuple[int, str, Any], bool]:
    """The normalised answer of both paths (asserted equal) and whether the short path took it."""
    headers = {"content-type": content_type}
    if token:
        headers["authorization"] = f"Bearer {token}"
    answers = []
    for strawberry_only in (False, True):
        paths.strawberry_only = strawberry_only
        paths.answered.clear()
        response = await http.post("/graphql", content=body, headers=headers)
        assert response.headers.get("x-request-id") or response.status_code >= 400
        answers.append(_normalised(response))
        if not strawberry_only:
            short = paths.answered == [True]
    assert answers[0] == answers[1]
    return answers[0], short


def _body(query: Any, variables: Any = None, **extra: Any) -> str:
    return json.dumps({"query": query, "variables": variables, **extra})


# Requests the short path answers: they must come out exactly as strawberry's.
COMMON = [
    ("me", _body(ME)),
    ("me, its operation named", _body(ME, {}, operationName="Me")),
    ("one of two operations by name", _body(TWO_OPERATIONS, operationName="B")),
    ("a variable", _body("query($id: ID!) { node(id: $id) { id } }", {"id": "nonsense"})),
    ("a missing variable", _body("query($id: ID!) { node(id: $id) { id } }", {})),
    ("a variable of the wrong type", _body("query($n: Int) { applications(first: $n) { totalCount } }",
                                           {"n": "many"})),
    ("an access error", _body("{ emails(first: 1) { totalCount } }")),
    ("a mutation", _body('mutation { emailRetry(input: {emailId: "RW1haWw6MA"}) { userErrors { code } } }')),
    ("__typename", _body("{ __typename }")),
    ("extensions null", _body(ME, extensions=None)),
]

# Requests strawberry's view answers (the body replayed to it).
UNUSUAL = [
    ("not JSON", "{nope"),
    ("a batch", json.dumps([{"query": ME}])),
    ("no query", json.dumps({"variables": {}})),
    ("an empty query", _body("")),
    ("a query that is not a string", _body(["{ me { id } }"])),
    ("variables that are not an object", _body(ME, [1])),
    ("extensions", _body(ME, extensions={"persistedQuery": {"version": 1}})),
    ("a syntax error", _body("{ me { id ")),
    ("a validation error", _body("{ me { idd } }")),
    ("two operations, no name", _body(TWO_OPERATIONS)),
    ("an unknown operation name", _body(ME, operationName="Other")),
    ("a lone surrogate", '{"query": "{ me { id } }", "variables": {"x": "\\ud800"}}'),
    ("NaN", '{"query": "{ me { id } }", "variables": {"x": NaN}}'),
    ("too deep", _body("{ me { " + "locations { partner { " * 7 + "id" + " }" * 16)),
]


@pytest.mark.parametrize("viewer", ["anonymous", "partner", "admin"])
async def test_the_short_path_answers_common_requests_as_strawberry_would(
        client, partner_client, admin_client, paths: Paths, viewer: str) -> None:
    token = {"anonymous": None, "partner": partner_client.token, "admin": admin_client.token}[viewer]
    for name, body in COMMON:
        # when / then: the same answer from both paths, and the short path gave it
        answer, short = await _both(client.http, paths, body, token)
        assert short, name
        assert answer[0] == 200, (name, answer)


async def test_a_partners_own_data_comes_the_same_way(partner_client, paths: Paths) -> None:
    query = "{ me { username locations { name country applications { id status } } } }"
    answer, short = await _both(partner_client.http, paths, _body(query), partner_client.token)
    assert short
    assert answer[2]["data"]["me"]["locations"][0]["name"] == "Kit Location"


@pytest.mark.parametrize("name,body", UNUSUAL, ids=[name for name, _ in UNUSUAL])
async def test_unusual_requests_go_to_strawberry(client, partner_client, paths: Paths, name: str,
                                                 body: str) -> None:
    # when
    answer, short = await _both(client.http, paths, body, partner_client.token)
    # then: strawberry answered, with the body the short path had read
    assert not short, name
    assert answer[0] in (200, 400), answer


async def test_a_charset_in_the_content_type_still_takes_the_short_path(partner_client, paths: Paths) -> None:
    answer, short = await _both(partner_client.http, paths, _body(ME), partner_client.token,
                                content_type="application/json; charset=utf-8")
    assert short
    assert answer[2]["data"]["me"]["username"] == "kit.partner"


async def test_introspection_in_production_is_refused_the_same_way(
        settings: Settings, client, partner_client, admin_client, paths: Paths) -> None:
    settings.env = "production"
    query = _body("{ __schema { queryType { name } } }")
    refused, short = await _both(client.http, paths, query, partner_client.token)
    assert not short and refused[0] == 200 and refused[2]["data"] is None
    answered, short = await _both(client.http, paths, query, admin_client.token)
    assert short and answered[2]["data"] == {"__schema": {"queryType": {"name": "Query"}}}


async def test_an_unexpected_error_is_masked_the_same_way(
        settings: Settings, partner_client, paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    from smbselect.schema import auth as auth_schema

    settings.env = "production"

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(auth_schema.User, "of", broken)
    answer, short = await _both(partner_client.http, paths, _body(ME), partner_client.token)
    assert short
    [error] = answer[2]["errors"]
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "<the request's id>"}
    assert "fire" not in json.dumps(answer[2])


@pytest.mark.parametrize("body", ['"{ me { id } }"', "42", "null", "true"])
async def test_a_body_that_is_not_an_object_is_a_clear_400(client, paths: Paths, body: str) -> None:
    # strawberry's view failed on these with a server error (it calls .get on the value)
    response = await client.http.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.text == 'Send a JSON object: {"query": "...", "variables": {...}}.'


@pytest.mark.parametrize("strawberry_only", [False, True], ids=["short path", "strawberry"])
async def test_only_a_mutation_wakes_the_mail_relay(app, client, partner_client, paths: Paths,
                                                    strawberry_only: bool) -> None:
    # A wake is a drain of the outbox; after every query, the relay drained once per request.
    relay = app.state.relay
    relay._wake.clear()
    paths.strawberry_only = strawberry_only
    # when: queries (one that fails to parse too)
    for _ in range(3):
        response = await partner_client.post(ME)
        assert response.json()["data"]["me"]["username"] == "kit.partner"
    assert "errors" in (await partner_client.post("mutation { nope")).json()
    # then
    assert paths.answered == [not strawberry_only] * 3 + [False]
    assert not relay._wake.is_set()
    # when: a mutation that queues an email
    response = await client.post("mutation { passwordResetRequest(input: {login: \"kit.partner\"}) { userErrors { code } } }")
    # then: the relay is told at once
    assert response.json()["data"]["passwordResetRequest"]["userErrors"] == []
    assert paths.answered[-1] is not strawberry_only
    assert relay._wake.is_set()


@pytest.mark.parametrize("strawberry_only", [False, True], ids=["short path", "strawberry"])
async def test_a_requests_rows_are_freed_without_the_garbage_collector(partner_client, paths: Paths,
                                                                       strawberry_only: bool) -> None:
    # The request's loaders close over its context, a cycle: before Context.release, every
    # row they loaded waited for the collector's older generations, which then took longer.
    import gc

    from tortoise.models import Model

    from smbselect import testing

    await testing.make_application("SMB_SELECT", partner_client.location, status="NOT_SUBMITTED")
    query = "{ me { locations { name applications { id status program { name } location { name } } } } }"
    paths.strawberry_only = strawberry_only
    await partner_client.post(query)  # the schema's and the plans' own caches, once
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        # when
        response = await partner_client.post(query)
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, Model)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    # then: the rows were freed as soon as the answer was made; only the viewer, whom the
    # execution itself holds, is left to the collector
    assert response.json()["data"]["me"]["locations"][0]["applications"]
    assert paths.answered == [not strawberry_only] * 2
    assert [type(o).__name__ for o in left if getattr(o, "username", None) != "kit.partner"] == []

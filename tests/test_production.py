"""Production mode (SMBSELECT_ENV=production): the schema's shape (introspection, "Did you
mean ...?" hints) only for an admin's token, GraphiQL still served; unexpected errors masked
with a request id that the X-Request-ID header and the log line name too; and request
hygiene in every mode (JSON or multipart POSTs only)."""

from __future__ import annotations

import logging

import pytest

from smbselect.resolvers import auth
from smbselect.schema.pipeline import RequestPolicy
from smbselect.settings import Settings

INTROSPECTION = "{ __schema { types { name } } }"
TYPE_INTROSPECTION = '{ __type(name: "User") { fields { name } } }'
MISSPELLED = "{ me { usernam } }"
LOGOUT = "mutation Logout { logout { userErrors { code } } }"


@pytest.fixture
def production(settings: Settings) -> Settings:
    settings.env = "production"
    assert settings.secret_key and settings.is_production
    return settings


def messages(result: dict) -> list[str]:
    return [e["message"] for e in result.get("errors") or []]


# --- introspection and hints ----------------------------------------------------------------


@pytest.mark.parametrize("document", [INTROSPECTION, TYPE_INTROSPECTION])
async def test_introspection_is_refused_to_anonymous_and_partner_callers(
        production, client, partner_client, document):
    for caller in (client, partner_client):
        # when
        result = await caller.gql(document, token=caller.token or "")

        # then: refused while validating, nothing executed
        assert result.get("data") is None, result
        assert any("introspection has been disabled" in m for m in messages(result)), result


async def test_introspection_is_answered_for_an_admin(production, admin_client):
    data = await admin_client.data(INTROSPECTION)
    assert {"User", "Query", "Mutation"} <= {t["name"] for t in data["__schema"]["types"]}


async def test_typename_still_works_for_anyone(production, client):
    assert await client.data("{ __typename }", token="") == {"__typename": "Query"}


async def test_a_misspelled_field_gives_no_hint_to_a_partner(
        production, partner_client, admin_client):
    # when
    partner = await partner_client.gql(MISSPELLED)
    admin = await admin_client.gql(MISSPELLED)

    # then: the partner learns only that the field does not exist; the admin gets the hint
    assert messages(partner) == ["Cannot query field 'usernam' on type 'User'."]
    assert partner["errors"][0]["locations"]
    assert messages(admin) == [
        "Cannot query field 'usernam' on type 'User'. Did you mean 'username'?"]
    # and the admin's (cached) validation did not hand its hint to the next partner request
    assert messages(await partner_client.gql(MISSPELLED)) == messages(partner)


async def test_enum_and_argument_hints_are_hidden_too(production, partner_client):
    result = await partner_client.gql('{ applications(filter: {status: SUBMITED}) { totalCount } }')
    assert result["errors"] and not any("Did you mean" in m for m in messages(result)), result
    result = await partner_client.gql("{ partners(frist: 1) { totalCount } }")
    assert result["errors"] and not any("Did you mean" in m for m in messages(result)), result
    result = await partner_client.gql(
        "query($s: [ApplicationStatus!]) { applications(filter: {status: $s}) { totalCount } }",
        {"s": ["SUBMITED"]})
    assert result["errors"] and not any("Did you mean" in m for m in messages(result)), result
    assert "SUBMITED" in messages(result)[0]


async def test_development_answers_everyone_as_before(settings, client):
    assert not settings.is_production
    assert (await client.data(INTROSPECTION, token=""))["__schema"]["types"]
    hinted = messages(await client.gql(MISSPELLED, token=""))
    assert any("Did you mean 'username'?" in m for m in hinted)


async def test_graphiql_is_still_served_in_production(production, client):
    response = await client.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


# --- unexpected errors ------------------------------------------------------------------------


async def test_an_unexpected_error_is_masked_with_a_request_id_that_header_and_log_share(
        production, client, monkeypatch, caplog):
    # given: a resolver with a bug
    async def broken(ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(auth, "logout", broken)

    # when
    with caplog.at_level(logging.ERROR, logger="smbselect.errors"):
        response = await client.post(LOGOUT, token="")

    # then: the client sees only the request id ...
    assert response.status_code == 200
    body = response.json()
    [error] = body["errors"]
    assert error["message"] == "Unexpected error."
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    request_id = error["extensions"]["requestId"]
    assert request_id and response.headers["X-Request-ID"] == request_id
    assert "secret internal detail" not in response.text
    # ... which names the log line with the whole traceback
    [record] = [r for r in caplog.records if r.name == "smbselect.errors"]
    assert request_id in record.getMessage()
    assert record.request_id == request_id  # type: ignore[attr-defined]
    logged = caplog.text
    assert "Traceback (most recent call last)" in logged
    assert "RuntimeError: secret internal detail" in logged
    assert "in broken" in logged


async def test_an_error_outside_any_field_is_masked_and_logged_too(production, client, monkeypatch, caplog):
    # given: a bug in a hook that runs before execution (strawberry's path: a GET)
    def broken(self):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret hook detail")
        yield  # a generator hook, as strawberry expects

    monkeypatch.setattr(RequestPolicy, "on_validate", broken)

    # when
    with caplog.at_level(logging.ERROR, logger="smbselect.errors"):
        response = await client.http.get("/graphql", params={"query": "{ __typename }"})

    # then: the client sees the request id only, the log has the traceback once
    [error] = response.json()["errors"]
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": error["extensions"]["requestId"]}
    assert "secret hook detail" not in response.text
    [record] = [r for r in caplog.records if r.name == "smbselect.errors"]
    assert error["extensions"]["requestId"] in record.getMessage()
    assert "RuntimeError: secret hook detail" in caplog.text


async def test_every_answer_carries_its_own_request_id(client, world):
    first = await client.post("{ me { username } }")
    second = await client.post("{ nope }")
    ids = {first.headers.get("X-Request-ID"), second.headers.get("X-Request-ID")}
    assert None not in ids and len(ids) == 2


# --- request hygiene ----------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [
    "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "",
    "application/graphql", "application/jsonp",
])
async def test_posts_that_are_not_json_or_multipart_are_refused(client, world, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.http.post(
        "/graphql", content=b'{"query": "mutation { logout { userErrors { code } } }"}',
        headers=headers)
    assert response.status_code == 415, response.text


async def test_json_with_a_charset_is_accepted(client, world):
    response = await client.http.post(
        "/graphql", content=b'{"query": "{ me { username } }"}',
        headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 200 and response.json() == {"data": {"me": None}}

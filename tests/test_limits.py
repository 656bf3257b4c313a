"""Abusive documents are refused before any resolver runs, and the server keeps answering."""

from __future__ import annotations

from smbselect.schema.root import MAX_ALIASES, MAX_DEPTH

# Two levels per pair, more pairs than the limit allows, whatever MAX_DEPTH is.
_PAIRS = MAX_DEPTH // 2 + 1
DEEP = "{ me { " + "locations { partner { " * _PAIRS + "name" + " } }" * _PAIRS + " } }"
ALIASES = "{ " + " ".join(f"a{i}: me {{ username }}" for i in range(MAX_ALIASES + 1)) + " }"
CYCLIC = "query { me { ...A } } fragment A on User { locations { partner { ...B } } } fragment B on Partner { locations { members { ...A } } }"
HUGE = "{ me { " + "username " * 6000 + "} }"


async def _refused(client, document: str) -> list[dict]:
    response = await client.post(document)
    assert response.status_code in (200, 400), response.text
    body = response.json()
    assert body.get("data") is None, body
    assert body["errors"], body
    return body["errors"]


async def test_deep_query_is_refused(client, world):
    errors = await _refused(client, DEEP)
    assert "depth" in errors[0]["message"].lower()


async def test_alias_amplification_is_refused(client, world):
    errors = await _refused(client, ALIASES)
    assert "alias" in errors[0]["message"].lower()


async def test_cyclic_fragments_are_refused(client, world):
    errors = await _refused(client, CYCLIC)
    assert any("within itself" in e["message"] for e in errors)


async def test_huge_document_is_refused(client, world):
    errors = await _refused(client, HUGE)
    assert "token" in errors[0]["message"].lower()


async def test_server_still_answers_after_abuse(client, world):
    await _refused(client, DEEP)
    response = await client.post("{ me { username } }")
    assert response.status_code == 200 and response.json() == {"data": {"me": None}}


async def test_page_size_over_100_is_refused(client, world):
    admin = await client.as_user("admin", "admin-password-1")
    result = await admin.gql("{ partners(first: 101) { totalCount } }")
    assert result["data"] is None and "100" in result["errors"][0]["message"]


async def test_mutation_over_get_is_refused(client, world):
    response = await client.http.get("/graphql", params={"query": "mutation { logout { userErrors { code } } }"})
    assert response.status_code in (400, 405)


async def test_batched_requests_are_refused(client, world):
    response = await client.http.post("/graphql", json=[{"query": "{ me { username } }"}] * 2)
    assert response.status_code == 400


async def test_a_lone_surrogate_is_a_malformed_request(client, world):
    body = ('{"query": "mutation($u: String!) { login(input: {username: $u, password: \\"x\\"}) '
            '{ token } }", "variables": {"u": "\\ud800x"}}')
    response = await client.http.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "JSON" in response.text


async def test_a_repeated_document_is_validated_once(client, world):
    """The limits ride on the validation cache: the second identical request must not run
    validation again (the limit rules used to be new classes per request, so it always did)."""
    from smbselect.schema.pipeline import parsed, validated

    document = "query RepeatedOnce { me { username name } }"
    await client.post(document)
    before, parsed_before = validated.cache_info(), parsed.cache_info()
    for _ in range(3):
        assert (await client.post(document)).status_code == 200
    after, parsed_after = validated.cache_info(), parsed.cache_info()
    assert after.hits - before.hits == 3
    assert after.misses == before.misses
    assert parsed_after.hits - parsed_before.hits == 3 and parsed_after.misses == parsed_before.misses
    # and the limits still hold for a document seen before
    for _ in range(2):
        errors = await _refused(client, DEEP)
        assert "depth" in errors[0]["message"].lower()

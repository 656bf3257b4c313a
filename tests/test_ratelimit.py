"""Guessing is slowed down and then refused: failed logins (per account and per client
address), password-reset requests and invitation-link guesses, with the counters in the
database so that they hold across server processes; counters expire with their window."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio

from smbselect import ratelimit
from smbselect.app import create_app
from smbselect.db.models import EmailMessage, InvitationLink, RateLimit
from smbselect.security import new_token, token_hash
from smbselect.settings import Settings
from smbselect.testing import PARTNER_PASSWORD, GraphQLClient, make_application

LOGIN = """
mutation Login($username: String!, $password: String!) {
  login(input: {username: $username, password: $password}) {
    token
    userErrors { code message field }
  }
}
"""

PASSWORD_RESET_REQUEST = """
mutation PasswordResetRequest($login: String!) {
  passwordResetRequest(input: {login: $login}) { userErrors { code message field } }
}
"""

PREVIEW = """
query Preview($token: String!) { invitationPreview(token: $token) { partnerName } }
"""

ACCEPT = """
mutation Accept($token: String!, $password: String!) {
  invitationAccept(input: {token: $token, password: $password}) {
    token
    userErrors { code message field }
  }
}
"""

WRONG = "not-the-password"
LIMITED = re.compile(r"^Too many attempts; try again in \d+ minutes?\.$")


# --- helpers ----------------------------------------------------------------------------


async def login(client: GraphQLClient, username: str, password: str) -> dict:
    data = await client.data(LOGIN, {"username": username, "password": password}, token="")
    return data["login"]


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def assert_limited(payload: dict) -> None:
    assert codes(payload) == ["RATE_LIMITED"], payload
    assert LIMITED.match(payload["userErrors"][0]["message"]), payload
    assert payload.get("token") is None


@pytest_asyncio.fixture
async def http_for(app):  # type: ignore[no-untyped-def]
    """``await http_for(app, ip)``: a GraphQL client over ``app``, its requests from ``ip``."""
    clients: list[httpx.AsyncClient] = []

    async def make(application: Any, ip: str = "127.0.0.1") -> GraphQLClient:
        transport = httpx.ASGITransport(app=application, client=(ip, 40000))
        http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(http)
        return GraphQLClient(http)

    yield make
    for http in clients:
        await http.aclose()


@pytest.fixture
def fast(settings: Settings) -> Settings:
    """No pauses before answering failures: tests that count many of them stay quick."""
    settings.login_slowdown_max_seconds = 0
    return settings


async def invitation_link(world: dict, username: str) -> str:
    """A valid invitation link token for ``username`` (created directly, no email)."""
    app = await make_application("SMB_SELECT", world["china"], invited_by=world["admin"])
    token = new_token()
    await InvitationLink.create(
        invitation_id=app.invitation_id, user=world[username], token_hash=token_hash(token),
        expires_at=datetime.now(UTC) + timedelta(days=30),
    )
    return token


# --- login ------------------------------------------------------------------------------


async def test_the_sixth_login_after_five_wrong_passwords_is_refused_even_when_right(client, world):
    # given: five wrong passwords for li
    for _ in range(5):
        assert codes(await login(client, "li.wei", WRONG)) == ["INVALID"]

    # when: the right password
    payload = await login(client, "li.wei", PARTNER_PASSWORD)

    # then: refused, saying when to try again (the window is 15 minutes)
    assert_limited(payload)
    assert payload["userErrors"][0]["message"] == "Too many attempts; try again in 15 minutes."
    assert payload["userErrors"][0]["field"] is None


async def test_answers_slow_down_after_three_failures(client, world, settings):
    # given: the default slowdown (after 3 failures: 0.25 s, then doubling, at most 2 s)
    assert settings.login_slowdown_after == 3
    assert [ratelimit.slowdown(settings, n) for n in range(1, 9)] == [0, 0, 0, 0.25, 0.5, 1, 2, 2]

    # when
    elapsed = []
    for _ in range(5):
        started = time.monotonic()
        assert codes(await login(client, "li.wei", WRONG)) == ["INVALID"]
        elapsed.append(time.monotonic() - started)

    # then: the 4th and 5th failures were answered after a pause
    assert elapsed[3] >= 0.25 and elapsed[4] >= 0.5, elapsed


async def test_other_accounts_from_the_same_address_work_until_the_address_limit(
        fast, app, world, http_for):
    # given: an address limit of 7 failures; li is locked out after 5
    fast.login_max_failures_per_address = 7
    office = await http_for(app, "198.51.100.7")
    for _ in range(5):
        await login(office, "li.wei", WRONG)
    assert_limited(await login(office, "li.wei", PARTNER_PASSWORD))

    # when / then: mei logs in from the same address (a success does not use up the address)
    assert (await login(office, "mei.lin", PARTNER_PASSWORD))["token"]
    assert codes(await login(office, "mei.lin", WRONG)) == ["INVALID"]
    assert codes(await login(office, "ole.hansen", WRONG)) == ["INVALID"]

    # then: the 7 failures fill the address: everyone there is refused, right password or not
    assert_limited(await login(office, "mei.lin", PARTNER_PASSWORD))
    assert_limited(await login(office, "nobody.at.all", WRONG))

    # and: mei from another address is not affected (her account has one failure)
    home = await http_for(app, "203.0.113.20")
    assert (await login(home, "mei.lin", PARTNER_PASSWORD))["token"]
    # and li's account is locked wherever she tries
    assert_limited(await login(home, "li.wei", PARTNER_PASSWORD))


async def test_unknown_and_existing_accounts_get_the_same_answers(fast, app, world, http_for):
    # when: six wrong logins each for an existing and an unknown account, from two addresses
    existing = [await login(await http_for(app, "192.0.2.1"), "li.wei", WRONG) for _ in range(6)]
    unknown = [await login(await http_for(app, "192.0.2.2"), "no.such.user", WRONG)
               for _ in range(6)]

    # then
    assert existing == unknown
    assert [codes(p) for p in existing] == [["INVALID"]] * 5 + [["RATE_LIMITED"]]


async def test_login_names_no_column_could_hold_are_counted_too(fast, client, world):
    for name in ["li\x00wei", "x" * 300 + "@example.com"]:
        answers = [await login(client, name, WRONG) for _ in range(6)]
        assert [codes(a) for a in answers] == [["INVALID"]] * 5 + [["RATE_LIMITED"]]


async def test_email_and_username_share_one_account_counter(fast, client, world):
    for login_name in ["li.wei", "LI.WEI@example.com", "li.wei@example.com", "li.wei", " li.wei "]:
        assert codes(await login(client, login_name, WRONG)) == ["INVALID"]
    assert_limited(await login(client, "li.wei@example.com", PARTNER_PASSWORD))


async def test_a_successful_login_clears_the_accounts_counter(fast, client, world):
    # given: four failures, then the right password
    for _ in range(4):
        await login(client, "li.wei", WRONG)
    assert (await login(client, "li.wei", PARTNER_PASSWORD))["token"]
    assert not await RateLimit.exists(key="login:user:li.wei")

    # when: four more failures
    answers = [codes(await login(client, "li.wei", WRONG)) for _ in range(4)]

    # then: none refused, the count started again
    assert answers == [["INVALID"]] * 4
    assert (await login(client, "li.wei", PARTNER_PASSWORD))["token"]


async def test_the_limit_holds_across_two_server_processes(fast, settings, world, http_for):
    # given: two app instances over the same database (as two uvicorn workers; they share
    # this test's process, so the count is also checked where it must live: the database)
    first = await http_for(create_app(settings, manage_db=False, run_relay=False), "192.0.2.50")
    second = await http_for(create_app(settings, manage_db=False, run_relay=False), "192.0.2.51")

    # when: failures spread over both
    for client in (first, second, first, second, first):
        assert codes(await login(client, "li.wei", WRONG)) == ["INVALID"]
    assert (await RateLimit.get(key="login:user:li.wei")).count == 5

    # then: both refuse
    assert_limited(await login(first, "li.wei", PARTNER_PASSWORD))
    assert_limited(await login(second, "li.wei", PARTNER_PASSWORD))


async def test_parallel_guesses_cannot_overtake_the_limit(fast, settings, world, http_for):
    # given: two app instances
    apps = [create_app(settings, manage_db=False, run_relay=False) for _ in range(2)]
    clients = [await http_for(apps[i % 2], f"192.0.2.{60 + i}") for i in range(12)]

    # when: twelve wrong passwords for one account at once
    answers = await asyncio.gather(*(login(c, "li.wei", WRONG) for c in clients))

    # then: exactly five were checked, the rest refused
    found = sorted(code for payload in answers for code in codes(payload))
    assert found == ["INVALID"] * 5 + ["RATE_LIMITED"] * 7


async def test_a_counter_expires_with_its_window(fast, client, world):
    # given: li is locked out
    for _ in range(5):
        await login(client, "li.wei", WRONG)
    assert_limited(await login(client, "li.wei", PARTNER_PASSWORD))

    # when: 10 of the 15 minutes have passed
    now = datetime.now(UTC)
    await RateLimit.filter(key="login:user:li.wei").update(window_start=now - timedelta(minutes=10))
    # then: the message counts the minutes left
    assert (await login(client, "li.wei", PARTNER_PASSWORD))["userErrors"][0]["message"] == (
        "Too many attempts; try again in 5 minutes.")

    # when: the window is over
    await RateLimit.filter(key="login:user:li.wei").update(
        window_start=now - timedelta(minutes=15, seconds=1))

    # then: li can log in again
    assert (await login(client, "li.wei", PARTNER_PASSWORD))["token"]


# --- password reset -----------------------------------------------------------------------


async def test_password_reset_requests_are_limited(app, world, http_for):
    client = await http_for(app, "192.0.2.80")

    async def request(login_name: str) -> dict:
        data = await client.data(PASSWORD_RESET_REQUEST, {"login": login_name}, token="")
        return data["passwordResetRequest"]

    # when: four requests for li (the limit is three an hour per account)
    answers = [await request("li.wei") for _ in range(4)]

    # then: three emails, the fourth refused
    assert [codes(a) for a in answers] == [[], [], [], ["RATE_LIMITED"]]
    assert answers[3]["userErrors"][0]["message"] == "Too many attempts; try again in 60 minutes."
    assert await EmailMessage.filter(kind="password_reset").count() == 3

    # and: an unknown account gets the same answers
    assert [await request("nobody.here") for _ in range(4)] == answers

    # when: the address's ten requests are used up by other names
    for name in ["a.one", "b.two", "c.three", "d.four"]:
        assert codes(await request(name)) == []
    # then: the address is refused for any name
    assert codes(await request("mei.lin")) == ["RATE_LIMITED"]
    assert await EmailMessage.filter(kind="password_reset").count() == 3


# --- invitation links ---------------------------------------------------------------------


async def test_invitation_link_guesses_are_limited_per_address(app, world, http_for):
    # given: a valid link for mei
    token = await invitation_link(world, "mei")
    guesser = await http_for(app, "192.0.2.90")

    # when: 20 guessed tokens
    for i in range(20):
        payload = (await guesser.data(ACCEPT, {"token": f"guess-{i}", "password": "x"}, token=""))
        assert codes(payload["invitationAccept"]) == ["INVITATION_INVALID"]

    # then: the 21st is refused, even with the real token and password
    accepted = (await guesser.data(ACCEPT, {"token": token, "password": PARTNER_PASSWORD},
                                   token=""))["invitationAccept"]
    assert_limited(accepted)
    # and previews from that address too, as a top-level error (a query has no userErrors)
    result = await guesser.gql(PREVIEW, {"token": token}, token="")
    assert result["data"] == {"invitationPreview": None}
    assert [e["extensions"]["code"] for e in result["errors"]] == ["RATE_LIMITED"]
    assert LIMITED.match(result["errors"][0]["message"])

    # and: mei, elsewhere, uses her link
    mei = await http_for(app, "203.0.113.5")
    assert (await mei.data(PREVIEW, {"token": token}, token=""))["invitationPreview"] == {
        "partnerName": "Equant"}
    accepted = (await mei.data(ACCEPT, {"token": token, "password": PARTNER_PASSWORD},
                               token=""))["invitationAccept"]
    assert accepted["userErrors"] == [] and accepted["token"]


async def test_unknown_preview_tokens_count_and_known_ones_do_not(settings, app, world, http_for):
    # given: a limit of 3 guesses
    settings.invitation_max_guesses_per_address = 3
    token = await invitation_link(world, "mei")
    client = await http_for(app, "192.0.2.91")

    # when: a known link is previewed often, and unknown tokens three times
    for _ in range(6):
        assert (await client.data(PREVIEW, {"token": token}, token=""))["invitationPreview"]
    for i in range(3):
        data = await client.data(PREVIEW, {"token": f"guess-{i}"}, token="")
        assert data["invitationPreview"] is None

    # then: the next preview is refused
    result = await client.gql(PREVIEW, {"token": token}, token="")
    assert [e["extensions"]["code"] for e in result["errors"]] == ["RATE_LIMITED"]


async def test_wrong_passwords_through_a_link_count_as_failed_logins(fast, app, world, http_for):
    # given: a valid link for li, who has a password
    token = await invitation_link(world, "li")
    client = await http_for(app, "192.0.2.92")

    # when: five wrong passwords through the link
    for _ in range(5):
        payload = (await client.data(ACCEPT, {"token": token, "password": WRONG}, token=""))
        assert codes(payload["invitationAccept"]) == ["INVALID"]

    # then: li's account is locked, at login and through the link
    assert_limited(await login(client, "li.wei", PARTNER_PASSWORD))
    assert_limited((await client.data(ACCEPT, {"token": token, "password": PARTNER_PASSWORD},
                                      token=""))["invitationAccept"])


# --- the counters themselves ----------------------------------------------------------------


async def test_counter_keys_and_addresses(db):
    assert ratelimit.address("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert ratelimit.address("::ffff:192.0.2.1") == "192.0.2.1"
    assert ratelimit.address("192.0.2.1") == "192.0.2.1"
    assert ratelimit.address(None) is None
    long_key = ratelimit.key("login:user", "x" * 400)
    assert len(long_key) <= ratelimit.MAX_KEY_LENGTH and long_key.startswith("login:user:sha256:")
    for odd in ["li\x00wei", "li\ud800wei"]:
        assert ratelimit.key("login:user", odd).startswith("login:user:sha256:")

    # a full counter refuses; giving an attempt back makes room for one more
    window = timedelta(minutes=1)
    assert [await ratelimit.take("t", 2, window) for _ in range(2)] == [1, 2]
    with pytest.raises(ratelimit.Limited) as refused:
        await ratelimit.take("t", 2, window)
    assert timedelta(seconds=50) < refused.value.retry_after <= window
    await ratelimit.give_back("t")
    assert await ratelimit.take("t", 2, window) == 2

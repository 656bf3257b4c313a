"""Accounts over the real ASGI app: login, sessions, logout, access errors, password change
and reset (through a real SMTP server), session revocation, tokens, the hashing bound and
the health endpoints."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from smbselect import ids, security
from smbselect.db.models import EmailMessage, PasswordResetToken, Session
from smbselect.security import token_hash
from smbselect.testing import ADMIN_PASSWORD, PARTNER_PASSWORD, GraphQLClient, make_user

LOGIN = """
mutation Login($username: String!, $password: String!) {
  login(input: {username: $username, password: $password}) {
    token
    expiresAt
    user { id username email role }
    userErrors { code message field }
  }
}
"""

ME = "query Me { me { id username role } }"

LOGOUT = "mutation Logout { logout { userErrors { code message field } } }"

PASSWORD_CHANGE = """
mutation PasswordChange($current: String!, $new: String!) {
  passwordChange(input: {currentPassword: $current, newPassword: $new}) {
    userErrors { code message field }
  }
}
"""

PASSWORD_RESET_REQUEST = """
mutation PasswordResetRequest($login: String!) {
  passwordResetRequest(input: {login: $login}) {
    userErrors { code message field }
  }
}
"""

PASSWORD_RESET = """
mutation PasswordReset($token: String!, $new: String!) {
  passwordReset(input: {token: $token, newPassword: $new}) {
    userErrors { code message field }
  }
}
"""

SESSION_REVOKE = """
mutation SessionRevoke($userId: ID!) {
  sessionRevoke(input: {userId: $userId}) {
    userErrors { code message field }
  }
}
"""

PROGRAMS = "query Programs { programs { code } }"

NODE = "query Node($id: ID!) { node(id: $id) { id } }"

NEW_PASSWORD = "a-brand-new-password-2"
RESET_LINK = re.compile(r"^http://app\.test/password-reset/([A-Za-z0-9_-]+)$")


# --- helpers ----------------------------------------------------------------------------


async def login(client: GraphQLClient, username: str, password: str) -> dict:
    data = await client.data(LOGIN, {"username": username, "password": password}, token="")
    return data["login"]


async def me(client: GraphQLClient, token: str) -> dict | None:
    """``me`` for a token; asserts that the answer is never an error."""
    return (await client.data(ME, token=token))["me"]


def error_codes(result: dict) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in result.get("errors") or []]


async def request_reset_link(client: GraphQLClient, app, smtp, login_name: str,  # type: ignore[no-untyped-def]
                             expected_count: int) -> str:
    """Ask for a reset link, relay the outbox, return the token of the newest email."""
    data = await client.data(PASSWORD_RESET_REQUEST, {"login": login_name}, token="")
    assert data["passwordResetRequest"]["userErrors"] == []
    await app.state.relay.drain_once()
    await smtp.wait_for(expected_count)
    assert len(smtp.messages) == expected_count
    tokens = [m.group(1) for link in smtp.messages[-1].links() if (m := RESET_LINK.match(link))]
    assert len(tokens) == 1, smtp.messages[-1].text
    return tokens[0]


# --- login ------------------------------------------------------------------------------


async def test_login_returns_token_expiry_and_user(client, world, settings):
    # given: sessions last 3 hours
    settings.session_ttl_hours = 3

    # when
    before = datetime.now(UTC)
    payload = await login(client, "li.wei", PARTNER_PASSWORD)
    after = datetime.now(UTC)

    # then
    assert payload["userErrors"] == []
    assert payload["token"]
    assert payload["user"] == {
        "id": ids.encode("User", world["li"].id),
        "username": "li.wei",
        "email": "li.wei@example.com",
        "role": "PARTNER",
    }
    expires = datetime.fromisoformat(payload["expiresAt"])
    assert expires.utcoffset() is not None, "DateTime must carry an offset"
    assert before + timedelta(hours=3) - timedelta(seconds=5) <= expires
    assert expires <= after + timedelta(hours=3) + timedelta(seconds=5)
    assert await me(client, payload["token"]) == {
        "id": ids.encode("User", world["li"].id), "username": "li.wei", "role": "PARTNER",
    }


async def test_login_by_email_works(client, world):
    # when: the email instead of the username, in another case and with spaces around it
    payload = await login(client, "  Li.Wei@Example.COM ", PARTNER_PASSWORD)

    # then
    assert payload["userErrors"] == []
    assert payload["user"]["username"] == "li.wei"
    assert (await me(client, payload["token"]))["username"] == "li.wei"


async def test_wrong_password_unknown_user_and_inactive_user_are_indistinguishable(client, world):
    # given: an inactive user whose password is right
    await make_user("gone.user", partner=world["equant"], password=PARTNER_PASSWORD, active=False)

    # when
    wrong_password = await login(client, "li.wei", "not-the-password")
    unknown_user = await login(client, "nobody.here", PARTNER_PASSWORD)
    inactive_user = await login(client, "gone.user", PARTNER_PASSWORD)
    no_password_set = await login(client, "chen.jing", "")

    # then: exactly the same answer, and no token
    for payload in (wrong_password, unknown_user, inactive_user, no_password_set):
        assert payload["token"] is None
        assert payload["expiresAt"] is None
        assert payload["user"] is None
        assert len(payload["userErrors"]) == 1
        assert payload["userErrors"][0]["code"] == "INVALID"
    assert wrong_password["userErrors"] == unknown_user["userErrors"]
    assert wrong_password["userErrors"] == inactive_user["userErrors"]
    assert wrong_password["userErrors"] == no_password_set["userErrors"]
    assert await Session.all().count() == 0


# --- me and what authenticates -----------------------------------------------------------


async def test_me_is_null_without_a_valid_bearer_token_never_an_error(client, world):
    # given: a real session token
    token = await client.login("li.wei", PARTNER_PASSWORD)

    # then: no token, garbage, an overlong token, another scheme -> null, no error
    assert await me(client, "") is None
    assert await me(client, "garbage-token") is None
    assert await me(client, "x" * 5000) is None
    for header in (f"Basic {token}", f"Token {token}", token, "Bearer", "Bearer "):
        response = await client.http.post("/graphql", json={"query": ME},
                                          headers={"Authorization": header})
        assert response.status_code == 200
        body = response.json()
        assert not body.get("errors"), (header, body)
        assert body["data"]["me"] is None, header
    # and the same token as a Bearer works
    assert (await me(client, token))["username"] == "li.wei"


async def test_an_expired_session_is_no_session(client, world):
    # given: a session that has expired
    token = await client.login("li.wei", PARTNER_PASSWORD)
    assert await me(client, token) is not None
    past = datetime.now(UTC) - timedelta(seconds=1)
    updated = await Session.filter(token_hash=token_hash(token)).update(expires_at=past)
    assert updated == 1

    # then
    assert await me(client, token) is None
    result = await client.gql(PROGRAMS, token=token)
    assert error_codes(result) == ["UNAUTHENTICATED"]


async def test_cookies_are_never_authentication(client, world):
    # given: a valid token
    token = await client.login("li.wei", PARTNER_PASSWORD)

    # when: it is sent only as cookies
    cookie = "; ".join(f"{name}={token}" for name in ("token", "session", "Authorization", "auth"))
    response = await client.http.post("/graphql", json={"query": ME}, headers={"Cookie": cookie})

    # then
    assert response.status_code == 200
    body = response.json()
    assert not body.get("errors"), body
    assert body["data"]["me"] is None


async def test_a_session_of_a_deactivated_user_stops_working(client, world):
    # given
    token = await client.login("li.wei", PARTNER_PASSWORD)
    assert await me(client, token) is not None

    # when
    world["li"].active = False
    await world["li"].save(update_fields=["active"])

    # then
    assert await me(client, token) is None


# --- logout -----------------------------------------------------------------------------


async def test_logout_ends_only_that_session(client, world):
    # given: two sessions of Li
    first = await client.login("li.wei", PARTNER_PASSWORD)
    second = await client.login("li.wei", PARTNER_PASSWORD)

    # when
    data = await client.data(LOGOUT, token=first)

    # then
    assert data["logout"]["userErrors"] == []
    assert await me(client, first) is None
    assert (await me(client, second))["username"] == "li.wei"
    assert await Session.filter(user_id=world["li"].id).count() == 1


# --- access errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (LOGOUT, {}),
        (PASSWORD_CHANGE, {"current": PARTNER_PASSWORD, "new": NEW_PASSWORD}),
        (PROGRAMS, {}),
        (NODE, {"id": "VXNlcjox"}),
    ],
    ids=["logout", "passwordChange", "programs", "node"],
)
async def test_operations_need_a_token(client, world, document, variables):
    # given: the id of a real user for node
    if "id" in variables:
        variables = {"id": ids.encode("User", world["li"].id)}

    # when
    for token in ("", "garbage-token"):
        result = await client.gql(document, variables, token=token)

        # then
        assert error_codes(result) == ["UNAUTHENTICATED"], result
        assert result["errors"][0]["message"]


async def test_login_me_and_password_reset_work_without_a_token(client, world, smtp):
    # when
    results = [
        await client.gql(LOGIN, {"username": "li.wei", "password": PARTNER_PASSWORD}, token=""),
        await client.gql(ME, token=""),
        await client.gql(PASSWORD_RESET_REQUEST, {"login": "li.wei"}, token=""),
        await client.gql(PASSWORD_RESET, {"token": "no-such-token", "new": NEW_PASSWORD}, token=""),
    ]

    # then: no top-level error
    for result in results:
        assert not result.get("errors"), result
    assert results[0]["data"]["login"]["token"]
    assert results[1]["data"]["me"] is None
    assert results[2]["data"]["passwordResetRequest"]["userErrors"] == []
    assert [e["code"] for e in results[3]["data"]["passwordReset"]["userErrors"]] == ["INVALID"]


async def test_a_partner_user_may_not_revoke_sessions(client, world):
    # given
    mei_token = await client.login("mei.lin", PARTNER_PASSWORD)
    li = await client.as_user("li.wei", PARTNER_PASSWORD)

    # when
    result = await li.gql(SESSION_REVOKE, {"userId": ids.encode("User", world["mei"].id)})

    # then
    assert error_codes(result) == ["FORBIDDEN"], result
    assert (await me(client, mei_token))["username"] == "mei.lin"


# --- password change --------------------------------------------------------------------


async def test_password_change_with_a_wrong_current_password(client, world):
    # given
    li = await client.as_user("li.wei", PARTNER_PASSWORD)

    # when
    data = await li.data(PASSWORD_CHANGE, {"current": "not-the-password", "new": NEW_PASSWORD})

    # then
    errors = data["passwordChange"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", ["input", "currentPassword"])]
    assert (await login(client, "li.wei", NEW_PASSWORD))["token"] is None
    assert (await login(client, "li.wei", PARTNER_PASSWORD))["token"]


async def test_password_change_with_a_too_short_new_password(client, world):
    # given
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    other = await client.login("li.wei", PARTNER_PASSWORD)

    # when
    data = await li.data(PASSWORD_CHANGE, {"current": PARTNER_PASSWORD, "new": "short"})

    # then: nothing changed
    errors = data["passwordChange"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", ["input", "newPassword"])]
    assert errors[0]["message"]
    assert (await login(client, "li.wei", "short"))["token"] is None
    assert (await login(client, "li.wei", PARTNER_PASSWORD))["token"]
    assert await me(client, other) is not None


async def test_password_change_keeps_this_session_and_ends_the_others(client, world):
    # given: two sessions of Li, and one of Mei
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    other_li = await client.login("li.wei", PARTNER_PASSWORD)
    mei = await client.login("mei.lin", PARTNER_PASSWORD)

    # when
    data = await li.data(PASSWORD_CHANGE, {"current": PARTNER_PASSWORD, "new": NEW_PASSWORD})

    # then
    assert data["passwordChange"]["userErrors"] == []
    assert (await login(client, "li.wei", PARTNER_PASSWORD))["token"] is None
    assert (await login(client, "li.wei", NEW_PASSWORD))["token"]
    assert (await li.data(ME))["me"]["username"] == "li.wei"
    assert await me(client, other_li) is None
    assert (await me(client, mei))["username"] == "mei.lin"


# --- password reset ---------------------------------------------------------------------


async def test_password_reset_by_email_through_smtp(client, world, app, smtp, settings):
    # given: two sessions of Li
    sessions = [await client.login("li.wei", PARTNER_PASSWORD) for _ in range(2)]

    # when: Li asks by username, then by email
    token = await request_reset_link(client, app, smtp, "li.wei", 1)
    by_email = await request_reset_link(client, app, smtp, "LI.WEI@example.com", 2)

    # then: two emails to Li's address, each with a link and the support address
    assert by_email != token
    for mail in smtp.messages:
        assert mail.rcpt_tos == ["li.wei@example.com"]
        assert "password" in mail.subject.lower()
        assert settings.support_email in mail.text
        assert settings.support_email in mail.html
    assert f"http://app.test/password-reset/{token}" in smtp.messages[0].text
    assert f"http://app.test/password-reset/{token}" in smtp.messages[0].html
    assert len(token) >= 43

    # when: the link is used
    data = await client.data(PASSWORD_RESET, {"token": token, "new": NEW_PASSWORD}, token="")

    # then: the new password works, the old does not, every earlier session ended
    assert data["passwordReset"]["userErrors"] == []
    assert (await login(client, "li.wei", PARTNER_PASSWORD))["token"] is None
    new_session = (await login(client, "li.wei", NEW_PASSWORD))["token"]
    assert new_session
    for old in sessions:
        assert await me(client, old) is None
    assert (await me(client, new_session))["username"] == "li.wei"

    # when: the same link is used again
    again = await client.data(PASSWORD_RESET, {"token": token, "new": "yet-another-password-3"},
                              token="")

    # then
    errors = again["passwordReset"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", ["input", "token"])]
    assert (await login(client, "li.wei", "yet-another-password-3"))["token"] is None
    assert (await me(client, new_session))["username"] == "li.wei"


async def test_password_reset_with_an_expired_link(client, world, app, smtp):
    # given: a link that has expired
    token = await request_reset_link(client, app, smtp, "li.wei", 1)
    past = datetime.now(UTC) - timedelta(seconds=1)
    assert await PasswordResetToken.filter(token_hash=token_hash(token)).update(expires_at=past) == 1
    session = await client.login("li.wei", PARTNER_PASSWORD)

    # when
    data = await client.data(PASSWORD_RESET, {"token": token, "new": NEW_PASSWORD}, token="")

    # then: nothing changed
    errors = data["passwordReset"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", ["input", "token"])]
    assert (await login(client, "li.wei", NEW_PASSWORD))["token"] is None
    assert (await login(client, "li.wei", PARTNER_PASSWORD))["token"]
    assert await me(client, session) is not None


async def test_password_reset_with_an_unknown_token_and_a_short_password(client, world, app, smtp):
    # given
    token = await request_reset_link(client, app, smtp, "li.wei", 1)

    # when
    unknown = await client.data(PASSWORD_RESET, {"token": "x" * 43, "new": NEW_PASSWORD}, token="")
    short = await client.data(PASSWORD_RESET, {"token": token, "new": "short"}, token="")

    # then
    assert [(e["code"], e["field"]) for e in unknown["passwordReset"]["userErrors"]] == [
        ("INVALID", ["input", "token"])
    ]
    assert [(e["code"], e["field"]) for e in short["passwordReset"]["userErrors"]] == [
        ("INVALID", ["input", "newPassword"])
    ]
    # and the link was not used up by the refused attempt
    ok = await client.data(PASSWORD_RESET, {"token": token, "new": NEW_PASSWORD}, token="")
    assert ok["passwordReset"]["userErrors"] == []


async def test_password_reset_request_tells_nothing_about_accounts(client, world, app, smtp):
    # given: an inactive user
    await make_user("gone.user", partner=world["equant"], password=PARTNER_PASSWORD, active=False)

    # when
    known = await client.gql(PASSWORD_RESET_REQUEST, {"login": "mei.lin"}, token="")
    unknown = await client.gql(PASSWORD_RESET_REQUEST, {"login": "nobody.here"}, token="")
    unknown_email = await client.gql(PASSWORD_RESET_REQUEST, {"login": "nobody@example.com"},
                                     token="")
    inactive = await client.gql(PASSWORD_RESET_REQUEST, {"login": "gone.user"}, token="")

    # then: the same answer for each
    assert known == {"data": {"passwordResetRequest": {"userErrors": []}}}
    assert unknown == known
    assert unknown_email == known
    assert inactive == known

    # and only the known, active account gets an email
    await app.state.relay.drain_once()
    await smtp.wait_for(1)
    await asyncio.sleep(0.2)
    assert [m.rcpt_tos for m in smtp.messages] == [["mei.lin@example.com"]]
    assert await EmailMessage.all().count() == 1
    assert await PasswordResetToken.all().count() == 1


# --- session revocation -----------------------------------------------------------------


async def test_admin_revokes_every_session_of_a_user(client, world):
    # given: two sessions of Li, one of Mei
    admin = await client.as_user("admin", ADMIN_PASSWORD)
    li_tokens = [await client.login("li.wei", PARTNER_PASSWORD) for _ in range(2)]
    mei = await client.login("mei.lin", PARTNER_PASSWORD)

    # when
    data = await admin.data(SESSION_REVOKE, {"userId": ids.encode("User", world["li"].id)})

    # then
    assert data["sessionRevoke"]["userErrors"] == []
    for token in li_tokens:
        assert await me(client, token) is None
    assert (await me(client, mei))["username"] == "mei.lin"
    assert (await admin.data(ME))["me"]["username"] == "admin"
    # Li can still log in again
    assert (await login(client, "li.wei", PARTNER_PASSWORD))["token"]


@pytest.mark.parametrize(
    "user_id",
    [ids.encode("User", 987654), ids.encode("Partner", 1), "not-an-id"],
    ids=["unknown user", "another type", "malformed"],
)
async def test_revoking_sessions_of_an_unknown_user(client, world, user_id):
    # given
    admin = await client.as_user("admin", ADMIN_PASSWORD)

    # when
    data = await admin.data(SESSION_REVOKE, {"userId": user_id})

    # then
    errors = data["sessionRevoke"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [("NOT_FOUND", ["input", "userId"])]


# --- tokens -----------------------------------------------------------------------------


async def test_bearer_tokens_are_long_random_and_stored_as_hashes(client, world):
    # when
    first = await client.login("li.wei", PARTNER_PASSWORD)
    second = await client.login("li.wei", PARTNER_PASSWORD)

    # then
    for token in (first, second):
        assert len(token) >= 43
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token), token
    assert first != second
    stored = set(await Session.all().values_list("token_hash", flat=True))
    assert stored == {token_hash(first), token_hash(second)}
    assert first not in stored and second not in stored


# --- hashing bound ----------------------------------------------------------------------


class CountingHasher:
    """Wraps the real hasher; records how many ``hash`` calls run at the same time."""

    def __init__(self, real: object) -> None:
        self.real = real
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.calls = 0

    def hash(self, password: str) -> str:
        with self.lock:
            self.running += 1
            self.calls += 1
            self.peak = max(self.peak, self.running)
        try:
            time.sleep(0.05)  # widen the window so overlaps show
            return self.real.hash(password)  # type: ignore[attr-defined]
        finally:
            with self.lock:
                self.running -= 1

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


async def test_password_hashing_runs_at_most_the_configured_number_at_once(monkeypatch):
    # given: at most 2 hashes at once
    counter = CountingHasher(security._hasher)
    monkeypatch.setattr(security, "_hasher", counter)
    security.configure(2)
    try:
        # when: 6 at once
        hashes = await asyncio.gather(*(security.hash_password(f"password-{i:04d}") for i in range(6)))
    finally:
        security.configure(2)

    # then: all six ran, never more than two together (and two did run together)
    assert counter.calls == 6
    assert counter.peak == 2
    for i, hashed in enumerate(hashes):
        assert await security.verify_password(hashed, f"password-{i:04d}")
        assert not await security.verify_password(hashed, "password-wrong")


async def test_a_hash_made_with_older_parameters_is_upgraded_at_login(client, world):
    # given: li.wei's password hashed with the library's default profile (64 MiB, 4 lanes),
    # as accounts made before smbselect lowered the memory per hash
    from argon2 import PasswordHasher

    from smbselect.db.models import User

    old_hash = PasswordHasher().hash(PARTNER_PASSWORD)
    await User.filter(username="li.wei").update(password_hash=old_hash)
    assert security.needs_rehash(old_hash)

    # when: she logs in
    payload = await login(client, "li.wei", PARTNER_PASSWORD)

    # then: she is in, and her hash now has today's parameters and still opens her account
    assert payload["userErrors"] == [] and payload["token"]
    stored = (await User.get(username="li.wei")).password_hash
    assert stored != old_hash and "m=19456,t=2,p=1" in stored
    assert not security.needs_rehash(stored)
    assert (await login(client, "li.wei", PARTNER_PASSWORD))["userErrors"] == []
    assert (await login(client, "li.wei", "not-her-password"))["userErrors"][0]["code"] == "INVALID"


# --- health -----------------------------------------------------------------------------


async def test_healthz_and_readyz(client):
    # when
    health = await client.http.get("/healthz")
    ready = await client.http.get("/readyz")

    # then
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"
    assert ready.json()["database"] == "up"


async def test_login_payload_shows_the_users_own_partner(client, world):
    data = await client.data(
        'mutation { login(input: {username: "li.wei", password: "partner-password-1"}) '
        '{ user { username partner { name } locations { name } } } }', token="")
    assert data["login"]["user"]["partner"] == {"name": "Equant"}
    assert len(data["login"]["user"]["locations"]) == 2

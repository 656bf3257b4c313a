"""What a partner user may see (the contract's header): the locations they act for, those
locations' people, and their own partner's name. Anything else is answered exactly as
something that does not exist. And what is stored of passwords and tokens.

The world: Equant (China, Austria) and Nordic Networks (Oslo). Li acts for both Equant
locations, Mei only for China; Chen is staff of China, Anna of Austria; Ole acts for and is
staff of Oslo.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest

from smbselect import ids
from smbselect.db.models import EmailMessage, PasswordResetToken, Session, User
from smbselect.testing import ADMIN_PASSWORD, PARTNER_PASSWORD, GraphQLClient

ME = """
query {
  me {
    username
    locations { name }
    partner {
      name
      locations { name }
      users { totalCount edges { node { username } } }
    }
  }
}"""

NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on User { username partner { name } locations { name } staffOf { name } }
    ... on Partner { name locations { name } }
    ... on Location { name country locationPartner: partner { name } members { username } }
  }
}"""

STAFF = """
query($id: ID!, $search: String) {
  node(id: $id) {
    ... on Location {
      name
      staff(search: $search) { totalCount edges { node { username } } }
    }
  }
}"""

PARTNER_USERS = """
query($search: String) {
  me { partner { users(search: $search) { totalCount edges { node { username } } } } }
}"""

LOGIN = """
mutation($username: String!, $password: String!) {
  login(input: { username: $username, password: $password }) { token userErrors { code } }
}"""

PASSWORD_RESET_REQUEST = """
mutation($login: String!) {
  passwordResetRequest(input: { login: $login }) { userErrors { code field message } }
}"""

PASSWORD_RESET = """
mutation($token: String!, $password: String!) {
  passwordReset(input: { token: $token, newPassword: $password }) { userErrors { code field } }
}"""

USER_CREATE = """
mutation($input: UserCreateInput!) {
  userCreate(input: $input) { user { username } userErrors { code field } }
}"""


def gid(row: Any) -> str:
    return ids.encode(type(row).__name__, row.id)


def names(items: list[dict[str, Any]]) -> list[str]:
    return sorted(item["name"] for item in items)


def usernames(connection: dict[str, Any]) -> list[str]:
    return sorted(edge["node"]["username"] for edge in connection["edges"])


@pytest.fixture
async def mei(client: GraphQLClient, world: dict) -> GraphQLClient:
    return await client.as_user("mei.lin", PARTNER_PASSWORD)


@pytest.fixture
async def li(client: GraphQLClient, world: dict) -> GraphQLClient:
    return await client.as_user("li.wei", PARTNER_PASSWORD)


@pytest.fixture
async def admin(client: GraphQLClient, world: dict) -> GraphQLClient:
    return await client.as_user("admin", ADMIN_PASSWORD)


# --- me and their partner ---------------------------------------------------------------


async def test_li_sees_both_equant_locations(li: GraphQLClient) -> None:
    me = (await li.data(ME))["me"]
    assert me["username"] == "li.wei"
    assert names(me["locations"]) == ["Equant Austria", "Equant China"]
    assert me["partner"]["name"] == "Equant"
    assert names(me["partner"]["locations"]) == ["Equant Austria", "Equant China"]
    # the people of both locations, Anna included; never Ole, never the admin
    assert usernames(me["partner"]["users"]) == ["anna.huber", "chen.jing", "li.wei", "mei.lin"]


async def test_mei_sees_only_china_and_its_people(mei: GraphQLClient) -> None:
    me = (await mei.data(ME))["me"]
    assert names(me["locations"]) == ["Equant China"]
    assert me["partner"]["name"] == "Equant"
    assert names(me["partner"]["locations"]) == ["Equant China"]
    users = me["partner"]["users"]
    assert usernames(users) == ["chen.jing", "li.wei", "mei.lin"]
    assert users["totalCount"] == 3


async def test_mei_does_not_see_lis_other_location(mei: GraphQLClient, world: dict) -> None:
    """Li acts for Austria too, but Mei may not see Austria, not even through Li."""
    li = (await mei.data(NODE, {"id": gid(world["li"])}))["node"]
    assert li["username"] == "li.wei"
    assert li["partner"] == {"name": "Equant"}
    assert names(li["locations"]) == ["Equant China"]
    chen = (await mei.data(NODE, {"id": gid(world["chen"])}))["node"]
    assert names(chen["staffOf"]) == ["Equant China"]


async def test_mei_searches_the_people_of_her_partner_within_china(mei: GraphQLClient) -> None:
    found = {
        search: usernames((await mei.data(PARTNER_USERS, {"search": search}))["me"]["partner"]["users"])
        for search in ("ANNA", "huber", "ole", "admin", "CHEN", "example.com")
    }
    assert found == {
        "ANNA": [], "huber": [], "ole": [], "admin": [],
        "CHEN": ["chen.jing"],
        "example.com": ["chen.jing", "li.wei", "mei.lin"],
    }


# --- node -------------------------------------------------------------------------------

HIDDEN_FROM_MEI = ["austria", "anna", "nordic", "ole", "oslo", "admin"]
VISIBLE_TO_MEI = ["china", "chen", "li", "mei", "equant"]
NONEXISTENT = [
    ids.encode("User", 99999),
    ids.encode("Location", 99999),
    ids.encode("Partner", 99999),
    ids.encode("Nonsense", 1),
    ids.encode("User", 2**40),
    "not-a-global-id",
    "",
    "VXNlcjow",  # User:0
    "VXNlcjotMQ",  # User:-1
]


@pytest.mark.parametrize("id_", NONEXISTENT)
async def test_node_of_something_that_does_not_exist_is_null(mei: GraphQLClient, id_: str) -> None:
    assert await mei.gql(NODE, {"id": id_}) == {"data": {"node": None}}


@pytest.mark.parametrize("who", HIDDEN_FROM_MEI)
async def test_node_of_what_mei_may_not_see_looks_like_nothing(
    mei: GraphQLClient, world: dict, who: str
) -> None:
    # given: the answer for an id that does not exist
    nothing = await mei.gql(NODE, {"id": ids.encode(type(world[who]).__name__, 99999)})
    # when
    result = await mei.gql(NODE, {"id": gid(world[who])})
    # then
    assert result == nothing == {"data": {"node": None}}


@pytest.mark.parametrize("what", VISIBLE_TO_MEI)
async def test_node_of_what_mei_may_see(mei: GraphQLClient, world: dict, what: str) -> None:
    node = (await mei.data(NODE, {"id": gid(world[what])}))["node"]
    assert node["id"] == gid(world[what])
    assert node["__typename"] == type(world[what]).__name__


async def test_mei_sees_china_with_its_partner_and_members(mei: GraphQLClient, world: dict) -> None:
    china = (await mei.data(NODE, {"id": gid(world["china"])}))["node"]
    assert china == {
        "__typename": "Location",
        "id": gid(world["china"]),
        "name": "Equant China",
        "country": "CN",
        "locationPartner": {"name": "Equant"},
        "members": china["members"],
    }
    assert sorted(m["username"] for m in china["members"]) == ["li.wei", "mei.lin"]


@pytest.mark.parametrize("what", HIDDEN_FROM_MEI + VISIBLE_TO_MEI)
async def test_an_admin_sees_everything(admin: GraphQLClient, world: dict, what: str) -> None:
    node = (await admin.data(NODE, {"id": gid(world[what])}))["node"]
    assert node is not None
    assert node["id"] == gid(world[what])


async def test_an_admin_sees_every_location_of_a_partner(admin: GraphQLClient, world: dict) -> None:
    equant = (await admin.data(NODE, {"id": gid(world["equant"])}))["node"]
    li = (await admin.data(NODE, {"id": gid(world["li"])}))["node"]
    assert names(equant["locations"]) == ["Equant Austria", "Equant China"]
    assert names(li["locations"]) == ["Equant Austria", "Equant China"]


async def test_node_needs_a_login(client: GraphQLClient, world: dict) -> None:
    result = await client.gql(NODE, {"id": gid(world["china"])})
    assert result["data"] in (None, {"node": None})
    assert [e["extensions"]["code"] for e in result["errors"]] == ["UNAUTHENTICATED"]


# --- Location.staff ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        (None, ["chen.jing"]),
        ("CHEN", ["chen.jing"]),
        ("Chen Jing", ["chen.jing"]),
        ("jing@example", ["chen.jing"]),
        ("CHEN.JING@EXAMPLE.COM", ["chen.jing"]),
        ("anna", []),
        ("mei", []),  # a member, not staff
        ("%", []),
    ],
)
async def test_mei_searches_the_staff_of_china(
    mei: GraphQLClient, world: dict, search: str | None, expected: list[str]
) -> None:
    location = (await mei.data(STAFF, {"id": gid(world["china"]), "search": search}))["node"]
    assert location["name"] == "Equant China"
    assert usernames(location["staff"]) == expected
    assert location["staff"]["totalCount"] == len(expected)


async def test_a_deactivated_person_is_no_longer_offered_as_staff(
    mei: GraphQLClient, admin: GraphQLClient, world: dict
) -> None:
    # given
    deactivated = await admin.data(
        "mutation($id: ID!) { userUpdate(input: { userId: $id, active: false }) { userErrors { code } } }",
        {"id": gid(world["chen"])},
    )
    assert deactivated["userUpdate"]["userErrors"] == []
    # when
    seen = {
        name: (await viewer.data(STAFF, {"id": gid(world["china"]), "search": None}))["node"]["staff"]
        for name, viewer in (("mei", mei), ("admin", admin))
    }
    # then
    assert seen["mei"] == seen["admin"] == {"totalCount": 0, "edges": []}


async def test_staff_of_a_hidden_location_cannot_be_reached(mei: GraphQLClient, world: dict) -> None:
    assert await mei.gql(STAFF, {"id": gid(world["austria"]), "search": "anna"}) == {"data": {"node": None}}


# --- secrets at rest --------------------------------------------------------------------


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def stored_text(rows: list[dict[str, Any]]) -> str:
    return "\n".join(str(value) for row in rows for value in row.values())


async def test_no_password_or_token_is_stored_in_clear(
    client: GraphQLClient, admin: GraphQLClient, world: dict
) -> None:
    # given: Mei logs in, an admin creates a user with a password, Mei asks for a reset link
    token = await client.login("mei.lin", PARTNER_PASSWORD)
    created = (
        await admin.data(
            USER_CREATE,
            {"input": {"username": "wang.fang", "email": "wang@equant.example", "name": "Wang Fang",
                       "role": "PARTNER", "partnerId": gid(world["equant"]),
                       "password": "wangs-secret-password"}},
        )
    )["userCreate"]
    assert created["userErrors"] == []
    requested = (await client.data(PASSWORD_RESET_REQUEST, {"login": "mei.lin"}, token=""))
    assert requested["passwordResetRequest"]["userErrors"] == []
    [mail] = await EmailMessage.filter(kind="password_reset").values("body_text")
    [reset_token] = re.findall(r"/password-reset/([A-Za-z0-9_-]+)", mail["body_text"])

    # then: passwords are argon2id hashes, nothing else
    users = await User.all().values()
    for user in users:
        if user["password_hash"] is not None:
            assert user["password_hash"].startswith("$argon2id$"), user["username"]
    hashes = {u["username"]: u["password_hash"] for u in users}
    assert hashes["mei.lin"].startswith("$argon2id$")
    assert hashes["wang.fang"].startswith("$argon2id$")
    for password in (PARTNER_PASSWORD, ADMIN_PASSWORD, "wangs-secret-password"):
        assert password not in stored_text(users)

    # and the session holds only the SHA-256 of the bearer token
    sessions = await Session.filter(user_id=world["mei"].id).values()
    assert [s["token_hash"] for s in sessions] == [sha256(token)]
    assert token not in stored_text(await Session.all().values())

    # and so does the reset link
    resets = await PasswordResetToken.all().values()
    assert [r["token_hash"] for r in resets] == [sha256(reset_token)]
    assert reset_token not in stored_text(resets)

    # and the link really is the one stored: it sets a new password, once
    used = (await client.data(PASSWORD_RESET, {"token": reset_token, "password": "a-brand-new-password"}, token=""))
    assert used["passwordReset"]["userErrors"] == []
    assert (await User.get(id=world["mei"].id)).password_hash.startswith("$argon2id$")
    again = (await client.data(PASSWORD_RESET, {"token": reset_token, "password": "another-new-password"}, token=""))
    assert [e["code"] for e in again["passwordReset"]["userErrors"]] == ["INVALID"]

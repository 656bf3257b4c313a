"""The admin's partner registry over GraphQL: partners, locations, people, certifications,
Search Partner, and who may call any of it.

A refused change answers with userErrors (code and field path) and writes nothing: each
such test compares a snapshot of the registry tables before and after.
"""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import pytest

from smbselect import ids
from smbselect.db.models import (
    Certification,
    Location,
    LocationMember,
    LocationStaff,
    Partner,
    User,
)
from smbselect.testing import ADMIN_PASSWORD, PARTNER_PASSWORD, GraphQLClient, make_user
from smbselect.db.enums import UserRole

# --- documents --------------------------------------------------------------------------

ERRORS = "userErrors { code field message }"
USER_FIELDS = """
  id username email name role active
  partner { name }
  locations { name }
  staffOf { name }
  certifications { code expiresOn }
"""

PARTNER_CREATE = f"""
mutation($input: PartnerCreateInput!) {{
  partnerCreate(input: $input) {{ partner {{ id name registered }} {ERRORS} }}
}}"""

PARTNER_UPDATE = f"""
mutation($input: PartnerUpdateInput!) {{
  partnerUpdate(input: $input) {{ partner {{ id name registered }} {ERRORS} }}
}}"""

LOCATION_CREATE = f"""
mutation($input: LocationCreateInput!) {{
  locationCreate(input: $input) {{ location {{ id name country partner {{ name }} }} {ERRORS} }}
}}"""

LOCATION_UPDATE = f"""
mutation($input: LocationUpdateInput!) {{
  locationUpdate(input: $input) {{ location {{ id name country }} {ERRORS} }}
}}"""

USER_CREATE = f"""
mutation($input: UserCreateInput!) {{
  userCreate(input: $input) {{ user {{ {USER_FIELDS} }} {ERRORS} }}
}}"""

USER_UPDATE = f"""
mutation($input: UserUpdateInput!) {{
  userUpdate(input: $input) {{ user {{ {USER_FIELDS} }} {ERRORS} }}
}}"""

CERTIFICATION_CREATE = f"""
mutation($input: CertificationCreateInput!) {{
  certificationCreate(input: $input) {{ user {{ username certifications {{ code expiresOn }} }} {ERRORS} }}
}}"""

CERTIFICATION_REMOVE = f"""
mutation($input: CertificationRemoveInput!) {{
  certificationRemove(input: $input) {{ user {{ username certifications {{ code expiresOn }} }} {ERRORS} }}
}}"""

PARTNERS = """
query($search: String, $first: Int, $after: String) {
  partners(search: $search, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name } }
  }
}"""

NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on User { username name email active locations { name } staffOf { name } }
    ... on Partner { name registered locations { name country } }
  }
}"""

ME = "query { me { username name email active locations { name } staffOf { name } } }"

LOGIN = f"""
mutation($username: String!, $password: String!) {{
  login(input: {{ username: $username, password: $password }}) {{ token {ERRORS} }}
}}"""


# --- helpers ----------------------------------------------------------------------------


@pytest.fixture
async def admin(client: GraphQLClient, world: dict) -> GraphQLClient:
    return await client.as_user("admin", ADMIN_PASSWORD)


def gid(row: Any) -> str:
    return ids.encode(type(row).__name__, row.id)


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of the registry tables, to prove that a refused call wrote nothing."""
    tables = (Partner, Location, User, LocationMember, LocationStaff, Certification)
    return {
        model.__name__: await model.all().order_by("id").values() for model in tables
    }


def problems(payload: dict[str, Any]) -> set[tuple[str, tuple[str, ...]]]:
    return {(e["code"], tuple(e["field"] or ())) for e in payload["userErrors"]}


def names(items: list[dict[str, Any]]) -> list[str]:
    return sorted(item["name"] for item in items)


def user_input(world: dict, **changes: Any) -> dict[str, Any]:
    """A valid userCreate input for a new person of Equant, with ``changes`` applied."""
    value: dict[str, Any] = {
        "username": "wang.fang",
        "email": "wang.fang@equant.example",
        "name": "Wang Fang",
        "role": "PARTNER",
        "partnerId": gid(world["equant"]),
        "password": "a-long-enough-password",
        "locationIds": [gid(world["china"])],
        "staffLocationIds": [gid(world["china"]), gid(world["austria"])],
    }
    value.update(changes)
    return {key: v for key, v in value.items() if v is not OMIT}


OMIT = object()


# --- partners ---------------------------------------------------------------------------


async def test_admin_creates_and_updates_a_partner(admin: GraphQLClient) -> None:
    # when
    created = (await admin.data(PARTNER_CREATE, {"input": {"name": "Acme Networks", "registered": False}}))[
        "partnerCreate"
    ]
    # then
    assert created["userErrors"] == []
    partner = created["partner"]
    assert (partner["name"], partner["registered"]) == ("Acme Networks", False)

    # when
    updated = (
        await admin.data(
            PARTNER_UPDATE,
            {"input": {"partnerId": partner["id"], "name": "Acme Networks GmbH", "registered": True}},
        )
    )["partnerUpdate"]
    # then
    assert updated["userErrors"] == []
    assert updated["partner"] == {"id": partner["id"], "name": "Acme Networks GmbH", "registered": True}
    stored = (await admin.data(NODE, {"id": partner["id"]}))["node"]
    assert (stored["name"], stored["registered"], stored["locations"]) == ("Acme Networks GmbH", True, [])


async def test_partner_create_defaults_to_registered(admin: GraphQLClient) -> None:
    created = (await admin.data(PARTNER_CREATE, {"input": {"name": "Acme"}}))["partnerCreate"]
    assert created["partner"]["registered"] is True


@pytest.mark.parametrize(
    ("name", "code"), [("", "REQUIRED"), ("   ", "REQUIRED"), ("x" * 201, "INVALID")]
)
async def test_partner_create_with_a_bad_name_writes_nothing(
    admin: GraphQLClient, name: str, code: str
) -> None:
    # given
    before = await snapshot()
    # when
    payload = (await admin.data(PARTNER_CREATE, {"input": {"name": name}}))["partnerCreate"]
    # then
    assert payload["partner"] is None
    assert problems(payload) == {(code, ("input", "name"))}
    assert await snapshot() == before


async def test_partner_update_refusals_change_nothing(admin: GraphQLClient, world: dict) -> None:
    # given
    before = await snapshot()
    # when: an empty name, together with a change that would be fine on its own
    empty = (
        await admin.data(
            PARTNER_UPDATE, {"input": {"partnerId": gid(world["equant"]), "name": "", "registered": False}}
        )
    )["partnerUpdate"]
    unknown = (
        await admin.data(PARTNER_UPDATE, {"input": {"partnerId": ids.encode("Partner", 99999), "name": "X"}})
    )["partnerUpdate"]
    wrong_type = (
        await admin.data(PARTNER_UPDATE, {"input": {"partnerId": gid(world["china"]), "name": "X"}})
    )["partnerUpdate"]
    # then
    assert problems(empty) == {("REQUIRED", ("input", "name"))}
    assert problems(unknown) == {("NOT_FOUND", ("input", "partnerId"))}
    assert problems(wrong_type) == {("NOT_FOUND", ("input", "partnerId"))}
    assert empty["partner"] is unknown["partner"] is wrong_type["partner"] is None
    assert await snapshot() == before


# --- locations --------------------------------------------------------------------------


async def test_location_create_accepts_a_lower_case_country(admin: GraphQLClient, world: dict) -> None:
    # when
    payload = (
        await admin.data(
            LOCATION_CREATE,
            {"input": {"partnerId": gid(world["equant"]), "name": "Equant Vienna", "country": "at"}},
        )
    )["locationCreate"]
    # then
    assert payload["userErrors"] == []
    location = payload["location"]
    assert (location["name"], location["country"], location["partner"]) == (
        "Equant Vienna", "AT", {"name": "Equant"},
    )
    partner = (await admin.data(NODE, {"id": gid(world["equant"])}))["node"]
    assert {"name": "Equant Vienna", "country": "AT"} in partner["locations"]
    assert await Location.filter(partner_id=world["equant"].id).count() == 3


@pytest.mark.parametrize("country", ["XX", "Austria", "", "A", "AUT"])
async def test_location_create_with_a_bad_country_writes_nothing(
    admin: GraphQLClient, world: dict, country: str
) -> None:
    before = await snapshot()
    payload = (
        await admin.data(
            LOCATION_CREATE,
            {"input": {"partnerId": gid(world["equant"]), "name": "Equant Nowhere", "country": country}},
        )
    )["locationCreate"]
    assert payload["location"] is None
    assert problems(payload) == {("INVALID", ("input", "country"))}
    assert await snapshot() == before


@pytest.mark.parametrize(
    "partner_id",
    [
        ids.encode("Partner", 99999),
        "not-a-global-id",
        "",
        ids.encode("Location", 1),  # a real row, but not a partner
    ],
)
async def test_location_create_for_an_unknown_partner_writes_nothing(
    admin: GraphQLClient, world: dict, partner_id: str
) -> None:
    before = await snapshot()
    payload = (
        await admin.data(
            LOCATION_CREATE, {"input": {"partnerId": partner_id, "name": "Ghost GmbH", "country": "DE"}}
        )
    )["locationCreate"]
    assert payload["location"] is None
    assert problems(payload) == {("NOT_FOUND", ("input", "partnerId"))}
    assert await snapshot() == before


async def test_location_create_reports_every_problem(admin: GraphQLClient) -> None:
    payload = (
        await admin.data(
            LOCATION_CREATE, {"input": {"partnerId": "nope", "name": " ", "country": "Narnia"}}
        )
    )["locationCreate"]
    assert problems(payload) == {
        ("NOT_FOUND", ("input", "partnerId")),
        ("REQUIRED", ("input", "name")),
        ("INVALID", ("input", "country")),
    }


async def test_location_update_renames_and_checks_the_country(admin: GraphQLClient, world: dict) -> None:
    ok = (
        await admin.data(
            LOCATION_UPDATE, {"input": {"locationId": gid(world["austria"]), "name": "Equant Wien", "country": "at"}}
        )
    )["locationUpdate"]
    assert ok["userErrors"] == []
    assert (ok["location"]["name"], ok["location"]["country"]) == ("Equant Wien", "AT")

    before = await snapshot()
    bad = (
        await admin.data(
            LOCATION_UPDATE, {"input": {"locationId": gid(world["austria"]), "name": "X", "country": "XX"}}
        )
    )["locationUpdate"]
    assert problems(bad) == {("INVALID", ("input", "country"))}
    assert await snapshot() == before


# --- people: userCreate -----------------------------------------------------------------


async def test_admin_creates_a_partner_user_with_locations(
    admin: GraphQLClient, client: GraphQLClient, world: dict
) -> None:
    # when
    payload = (await admin.data(USER_CREATE, {"input": user_input(world)}))["userCreate"]
    # then
    assert payload["userErrors"] == []
    user = payload["user"]
    assert {k: user[k] for k in ("username", "email", "name", "role", "active", "partner")} == {
        "username": "wang.fang",
        "email": "wang.fang@equant.example",
        "name": "Wang Fang",
        "role": "PARTNER",
        "active": True,
        "partner": {"name": "Equant"},
    }
    assert names(user["locations"]) == ["Equant China"]
    assert names(user["staffOf"]) == ["Equant Austria", "Equant China"]
    assert user["certifications"] == []
    assert ids.decode(user["id"], "User") is not None

    # and the new person can log in with the chosen password and sees their locations
    wang = await client.as_user("wang.fang", "a-long-enough-password")
    me = (await wang.data(ME))["me"]
    assert me["username"] == "wang.fang"
    assert names(me["locations"]) == ["Equant China"]


async def test_admin_creates_an_admin(admin: GraphQLClient, world: dict) -> None:
    payload = (
        await admin.data(
            USER_CREATE,
            {"input": {"username": "root2", "email": "root2@cisco.example", "name": "Second Admin",
                       "role": "ADMIN", "password": "another-admin-password"}},
        )
    )["userCreate"]
    assert payload["userErrors"] == []
    assert (payload["user"]["role"], payload["user"]["partner"], payload["user"]["locations"]) == (
        "ADMIN", None, [],
    )


def _refusals(world: dict) -> list[tuple[str, dict[str, Any], set[tuple[str, tuple[str, ...]]]]]:
    china, austria, oslo = gid(world["china"]), gid(world["austria"]), gid(world["oslo"])
    missing_location = ids.encode("Location", 99999)
    return [
        ("duplicate username", user_input(world, username="li.wei"),
         {("UNIQUE", ("input", "username"))}),
        ("duplicate username, other case", user_input(world, username="Li.WEI"),
         {("UNIQUE", ("input", "username"))}),
        ("duplicate email", user_input(world, email="mei.lin@example.com"),
         {("UNIQUE", ("input", "email"))}),
        ("duplicate email, other case", user_input(world, email="Mei.Lin@EXAMPLE.com"),
         {("UNIQUE", ("input", "email"))}),
        ("malformed email", user_input(world, email="wang.fang-at-equant"),
         {("INVALID", ("input", "email"))}),
        ("email without a domain", user_input(world, email="wang@"),
         {("INVALID", ("input", "email"))}),
        ("empty name", user_input(world, name=""), {("REQUIRED", ("input", "name"))}),
        ("blank name", user_input(world, name="   "), {("REQUIRED", ("input", "name"))}),
        ("partner user without partnerId", user_input(world, partnerId=OMIT, locationIds=[],
                                                      staffLocationIds=[]),
         {("REQUIRED", ("input", "partnerId"))}),
        ("partner user with a null partnerId", user_input(world, partnerId=None, locationIds=[],
                                                          staffLocationIds=[]),
         {("REQUIRED", ("input", "partnerId"))}),
        ("partner user with an unknown partner", user_input(world, partnerId=ids.encode("Partner", 99999),
                                                            locationIds=[], staffLocationIds=[]),
         {("NOT_FOUND", ("input", "partnerId"))}),
        ("admin with a partnerId", user_input(world, role="ADMIN", locationIds=[], staffLocationIds=[]),
         {("INVALID", ("input", "partnerId"))}),
        ("another partner's location", user_input(world, locationIds=[china, oslo]),
         {("INVALID", ("input", "locationIds", "1"))}),
        ("another partner's staff location", user_input(world, staffLocationIds=[oslo, austria]),
         {("INVALID", ("input", "staffLocationIds", "0"))}),
        ("unknown and malformed locations", user_input(world, locationIds=[china, missing_location, "zzz"]),
         {("NOT_FOUND", ("input", "locationIds", "1")), ("NOT_FOUND", ("input", "locationIds", "2"))}),
        ("a partner id as a location id", user_input(world, staffLocationIds=[gid(world["equant"])]),
         {("NOT_FOUND", ("input", "staffLocationIds", "0"))}),
        ("short password", user_input(world, password="short"), {("INVALID", ("input", "password"))}),
        ("several problems at once",
         user_input(world, username="MEI.LIN", email="nope", name="", password="123",
                    locationIds=[oslo], staffLocationIds=[china, missing_location]),
         {("UNIQUE", ("input", "username")), ("INVALID", ("input", "email")),
          ("REQUIRED", ("input", "name")), ("INVALID", ("input", "password")),
          ("INVALID", ("input", "locationIds", "0")),
          ("NOT_FOUND", ("input", "staffLocationIds", "1"))}),
    ]


# The case names, for the test ids (the inputs need the real world's ids).
REFUSAL_CASES = [
    case[0]
    for case in _refusals({k: SimpleNamespace(id=1) for k in ("china", "austria", "oslo", "equant")})
]


@pytest.mark.parametrize("case", REFUSAL_CASES)
async def test_user_create_refusals_write_nothing(admin: GraphQLClient, world: dict, case: str) -> None:
    # given
    _, input_, expected = next(c for c in _refusals(world) if c[0] == case)
    before = await snapshot()
    # when
    payload = (await admin.data(USER_CREATE, {"input": input_}))["userCreate"]
    # then
    assert payload["user"] is None
    assert problems(payload) == expected
    assert all(e["message"] for e in payload["userErrors"])
    assert await snapshot() == before


async def test_a_user_created_without_password_cannot_log_in(
    admin: GraphQLClient, client: GraphQLClient, world: dict
) -> None:
    # given
    payload = (await admin.data(USER_CREATE, {"input": user_input(world, password=OMIT)}))["userCreate"]
    assert payload["userErrors"] == []
    # when
    attempts = [
        (await client.data(LOGIN, {"username": "wang.fang", "password": pw}, token=""))["login"]
        for pw in ("", "a-long-enough-password")
    ]
    wrong_password = (
        await client.data(LOGIN, {"username": "li.wei", "password": "wrong-password-1"}, token="")
    )["login"]
    # then: the same answer as for a wrong password
    for attempt in attempts:
        assert attempt["token"] is None
        assert [e["code"] for e in attempt["userErrors"]] == ["INVALID"]
        assert attempt["userErrors"] == wrong_password["userErrors"]
    assert (await User.get(username="wang.fang")).password_hash is None


# --- people: userUpdate -----------------------------------------------------------------


async def test_admin_renames_a_user_and_changes_their_email(
    admin: GraphQLClient, client: GraphQLClient, world: dict
) -> None:
    # when
    payload = (
        await admin.data(
            USER_UPDATE,
            {"input": {"userId": gid(world["mei"]), "name": "Mei Lin-Wang", "email": "Mei@Equant.example"}},
        )
    )["userUpdate"]
    # then
    assert payload["userErrors"] == []
    assert (payload["user"]["name"], payload["user"]["email"]) == ("Mei Lin-Wang", "mei@equant.example")
    mei = await client.as_user("mei.lin", PARTNER_PASSWORD)
    me = (await mei.data(ME))["me"]
    assert (me["name"], me["email"]) == ("Mei Lin-Wang", "mei@equant.example")


@pytest.mark.parametrize("email", ["li.wei@example.com", "LI.WEI@example.com"])
async def test_user_update_to_a_taken_email_changes_nothing(
    admin: GraphQLClient, world: dict, email: str
) -> None:
    before = await snapshot()
    payload = (
        await admin.data(
            USER_UPDATE, {"input": {"userId": gid(world["mei"]), "name": "Renamed", "email": email}}
        )
    )["userUpdate"]
    assert payload["user"] is None
    assert problems(payload) == {("UNIQUE", ("input", "email"))}
    assert await snapshot() == before


async def test_user_update_keeps_ones_own_email(admin: GraphQLClient, world: dict) -> None:
    payload = (
        await admin.data(USER_UPDATE, {"input": {"userId": gid(world["mei"]), "email": "mei.lin@example.com"}})
    )["userUpdate"]
    assert payload["userErrors"] == []


async def test_user_update_replaces_locations_and_staff_locations(
    admin: GraphQLClient, world: dict
) -> None:
    # when: Li acts only for Austria; Chen becomes staff of Austria instead of China
    li = (
        await admin.data(USER_UPDATE, {"input": {"userId": gid(world["li"]), "locationIds": [gid(world["austria"])]}})
    )["userUpdate"]
    chen = (
        await admin.data(
            USER_UPDATE, {"input": {"userId": gid(world["chen"]), "staffLocationIds": [gid(world["austria"])]}}
        )
    )["userUpdate"]
    # then
    assert li["userErrors"] == chen["userErrors"] == []
    assert names(li["user"]["locations"]) == ["Equant Austria"]
    assert li["user"]["staffOf"] == []  # not given: left as it was
    assert names(chen["user"]["staffOf"]) == ["Equant Austria"]
    assert await LocationMember.filter(user_id=world["li"].id).values_list("location_id", flat=True) == [
        world["austria"].id
    ]

    # when: an empty list removes every link, and a location given twice is linked once
    cleared = (
        await admin.data(
            USER_UPDATE,
            {"input": {"userId": gid(world["li"]), "locationIds": [],
                       "staffLocationIds": [gid(world["china"]), gid(world["china"])]}},
        )
    )["userUpdate"]
    # then
    assert cleared["userErrors"] == []
    assert cleared["user"]["locations"] == []
    assert names(cleared["user"]["staffOf"]) == ["Equant China"]


async def test_user_update_refuses_another_partners_location(admin: GraphQLClient, world: dict) -> None:
    before = await snapshot()
    payload = (
        await admin.data(
            USER_UPDATE,
            {"input": {"userId": gid(world["li"]), "name": "Li",
                       "locationIds": [gid(world["china"]), gid(world["oslo"])],
                       "staffLocationIds": [ids.encode("Location", 99999)]}},
        )
    )["userUpdate"]
    assert problems(payload) == {
        ("INVALID", ("input", "locationIds", "1")),
        ("NOT_FOUND", ("input", "staffLocationIds", "0")),
    }
    assert await snapshot() == before


@pytest.mark.parametrize(
    "user_id",
    [
        ids.encode("User", 99999),
        "garbage",
        ids.encode("Partner", 1),
        ids.encode("User", 2**40),
    ],
)
async def test_user_update_of_an_unknown_user(admin: GraphQLClient, world: dict, user_id: str) -> None:
    payload = (await admin.data(USER_UPDATE, {"input": {"userId": user_id, "name": "X"}}))["userUpdate"]
    assert problems(payload) == {("NOT_FOUND", ("input", "userId"))}


async def test_a_deactivated_user_loses_their_session_and_cannot_log_in(
    admin: GraphQLClient, client: GraphQLClient, world: dict
) -> None:
    # given: Mei is logged in
    mei = await client.as_user("mei.lin", PARTNER_PASSWORD)
    assert (await mei.data(ME))["me"]["username"] == "mei.lin"
    # when
    payload = (
        await admin.data(USER_UPDATE, {"input": {"userId": gid(world["mei"]), "active": False}})
    )["userUpdate"]
    # then
    assert payload["userErrors"] == []
    assert payload["user"]["active"] is False
    assert (await mei.data(ME))["me"] is None
    as_mei = await mei.gql(NODE, {"id": gid(world["china"])})
    assert as_mei["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    login = (await client.data(LOGIN, {"username": "mei.lin", "password": PARTNER_PASSWORD}, token=""))[
        "login"
    ]
    assert login["token"] is None
    assert [e["code"] for e in login["userErrors"]] == ["INVALID"]

    # and reactivated, she can log in again (the password was kept)
    again = (await admin.data(USER_UPDATE, {"input": {"userId": gid(world["mei"]), "active": True}}))["userUpdate"]
    assert again["user"]["active"] is True
    assert await client.login("mei.lin", PARTNER_PASSWORD)


async def test_an_admin_cannot_deactivate_themself(admin: GraphQLClient, world: dict) -> None:
    before = await snapshot()
    payload = (
        await admin.data(USER_UPDATE, {"input": {"userId": gid(world["admin"]), "active": False}})
    )["userUpdate"]
    assert payload["user"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["INVALID"]
    assert payload["userErrors"][0]["field"] == ["input", "active"]
    assert await snapshot() == before
    assert (await admin.data(ME))["me"]["active"] is True


# --- certifications ---------------------------------------------------------------------


async def test_certification_create_without_and_with_expiry(admin: GraphQLClient, world: dict) -> None:
    # when
    no_expiry = (
        await admin.data(CERTIFICATION_CREATE, {"input": {"userId": gid(world["mei"]), "code": "CSE"}})
    )["certificationCreate"]
    with_expiry = (
        await admin.data(
            CERTIFICATION_CREATE,
            {"input": {"userId": gid(world["mei"]), "code": "CSA", "expiresOn": "2031-06-30"}},
        )
    )["certificationCreate"]
    # then
    assert no_expiry["userErrors"] == with_expiry["userErrors"] == []
    assert no_expiry["user"]["certifications"] == [{"code": "CSE", "expiresOn": None}]
    assert sorted(with_expiry["user"]["certifications"], key=lambda c: c["code"]) == [
        {"code": "CSA", "expiresOn": "2031-06-30"},
        {"code": "CSE", "expiresOn": None},
    ]


async def test_certification_create_again_renews_the_expiry(admin: GraphQLClient, world: dict) -> None:
    # given: Anna's CSA expires in 30 days
    anna = gid(world["anna"])
    # when
    renewed = (
        await admin.data(CERTIFICATION_CREATE, {"input": {"userId": anna, "code": "CSA", "expiresOn": "2032-01-31"}})
    )["certificationCreate"]
    lower_case = (
        await admin.data(CERTIFICATION_CREATE, {"input": {"userId": anna, "code": "csa", "expiresOn": "2033-01-31"}})
    )["certificationCreate"]
    # then
    assert renewed["user"]["certifications"] == [{"code": "CSA", "expiresOn": "2032-01-31"}]
    assert lower_case["user"]["certifications"] == [{"code": "CSA", "expiresOn": "2033-01-31"}]
    assert await Certification.filter(user_id=world["anna"].id).count() == 1

    # when: renewed without an expiry, it no longer expires
    forever = (
        await admin.data(CERTIFICATION_CREATE, {"input": {"userId": anna, "code": "CSA"}})
    )["certificationCreate"]
    assert forever["user"]["certifications"] == [{"code": "CSA", "expiresOn": None}]
    assert await Certification.filter(user_id=world["anna"].id).count() == 1


async def test_certification_create_refusals(admin: GraphQLClient, world: dict) -> None:
    before = await snapshot()
    unknown_user = (
        await admin.data(CERTIFICATION_CREATE, {"input": {"userId": ids.encode("User", 99999), "code": "CSE"}})
    )["certificationCreate"]
    empty_code = (
        await admin.data(CERTIFICATION_CREATE, {"input": {"userId": gid(world["mei"]), "code": " "}})
    )["certificationCreate"]
    assert problems(unknown_user) == {("NOT_FOUND", ("input", "userId"))}
    assert problems(empty_code) == {("REQUIRED", ("input", "code"))}
    assert await snapshot() == before


async def test_certification_remove(admin: GraphQLClient, world: dict) -> None:
    chen = gid(world["chen"])
    # when
    removed = (await admin.data(CERTIFICATION_REMOVE, {"input": {"userId": chen, "code": "CSE"}}))[
        "certificationRemove"
    ]
    # then
    assert removed["userErrors"] == []
    assert removed["user"] == {"username": "chen.jing", "certifications": []}

    # when: it is gone, and a code he never held is not there either
    before = await snapshot()
    again = (await admin.data(CERTIFICATION_REMOVE, {"input": {"userId": chen, "code": "CSE"}}))[
        "certificationRemove"
    ]
    never = (await admin.data(CERTIFICATION_REMOVE, {"input": {"userId": chen, "code": "CCIE"}}))[
        "certificationRemove"
    ]
    # then
    assert problems(again) == problems(never) == {("NOT_FOUND", ("input", "code"))}
    assert again["user"] is never["user"] is None
    assert await snapshot() == before


# --- Search Partner ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("TÜRK", ["Türkiye Bilişim"]),
        ("türk", ["Türkiye Bilişim"]),
        ("BILIŞIM", ["Türkiye Bilişim"]),
        ("equ", ["Equant"]),
        ("EQUANT", ["Equant"]),
        ("  nordic ", ["Nordic Networks"]),
        ("e", ["Equant", "Nordic Networks", "Türkiye Bilişim"]),
        ("%", []),
        ("_", []),
        ("zzz", []),
        ("", ["Equant", "Nordic Networks", "Türkiye Bilişim"]),
        (None, ["Equant", "Nordic Networks", "Türkiye Bilişim"]),
    ],
)
async def test_search_partner_is_case_insensitive_and_unicode_aware(
    admin: GraphQLClient, search: str | None, expected: list[str]
) -> None:
    # given
    await Partner.create(name="Türkiye Bilişim")
    # when
    partners = (await admin.data(PARTNERS, {"search": search}))["partners"]
    # then
    assert [e["node"]["name"] for e in partners["edges"]] == expected
    assert partners["totalCount"] == len(expected)


async def test_paging_through_partners_returns_each_once_in_name_order(client: GraphQLClient) -> None:
    # given: 25 partners, created out of name order, some differing only in case
    await make_user("admin", role=UserRole.ADMIN, password=ADMIN_PASSWORD)
    wanted = [f"Company {chr(ord('A') + i)}" for i in range(23)] + ["company b", "Österreich Telekom"]
    created = wanted[:]
    random.Random(7).shuffle(created)
    for name in created:
        await Partner.create(name=name)
    admin = await client.as_user("admin", ADMIN_PASSWORD)
    # when
    seen: list[str] = []
    pages: list[tuple[int, bool, bool, int]] = []
    after = None
    while True:
        page = (await admin.data(PARTNERS, {"first": 10, "after": after}))["partners"]
        seen += [e["node"]["name"] for e in page["edges"]]
        info = page["pageInfo"]
        pages.append((len(page["edges"]), info["hasNextPage"], info["hasPreviousPage"], page["totalCount"]))
        if page["edges"]:
            assert info["startCursor"] == page["edges"][0]["cursor"]
            assert info["endCursor"] == page["edges"][-1]["cursor"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
        assert len(pages) < 5, "paging does not end"
    # then
    assert pages == [(10, True, False, 25), (10, True, True, 25), (5, False, True, 25)]
    assert len(seen) == len(set(seen)) == 25
    # name order, case-insensitive; names equal but for case in the order they were created
    assert seen == sorted(created, key=lambda name: (name.casefold(), created.index(name)))


async def test_paging_within_a_search(admin: GraphQLClient) -> None:
    for name in ("Beta Link", "Alpha Link", "Gamma Link", "Delta"):
        await Partner.create(name=name)
    first = (await admin.data(PARTNERS, {"search": "LINK", "first": 2}))["partners"]
    rest = (
        await admin.data(PARTNERS, {"search": "LINK", "first": 2, "after": first["pageInfo"]["endCursor"]})
    )["partners"]
    assert [e["node"]["name"] for e in first["edges"]] == ["Alpha Link", "Beta Link"]
    assert [e["node"]["name"] for e in rest["edges"]] == ["Gamma Link"]
    assert (first["totalCount"], first["pageInfo"]["hasNextPage"]) == (3, True)
    assert (rest["totalCount"], rest["pageInfo"]["hasNextPage"]) == (3, False)


@pytest.mark.parametrize(
    "variables",
    [
        {"first": 101},
        {"first": -1},
        {"first": 5, "after": "not a cursor!"},
        {"first": 5, "after": "WzFd"},  # base64url of [1]: valid JSON, not our shape
        {"first": 5, "after": "eyJhIjogMX0"},  # base64url of {"a": 1}
        {"first": 5, "after": "WyJlcXVhbnQiLCAiMSJd"},  # base64url of ["equant", "1"]
    ],
)
async def test_bad_paging_arguments_are_a_top_level_client_error(
    admin: GraphQLClient, variables: dict[str, Any]
) -> None:
    response = await admin.post(PARTNERS, variables)
    assert response.status_code < 500
    result = response.json()
    assert result["data"] is None
    [error] = result["errors"]
    assert error["extensions"]["code"] not in (None, "INTERNAL_SERVER_ERROR")
    assert error["path"] == ["partners"]


@pytest.mark.parametrize(
    "after",
    [
        "W3siYSI6IDF9LCAxXQ",  # base64url of [{"a": 1}, 1]
        "WzUsIDFd",  # base64url of [5, 1]
        "WyJlcXVhbnQiLCAxZTMwMF0",  # base64url of ["equant", 1e300]
        "WyJlcXVhbnQiLCA5OTk5OTk5OTk5OTk5OTk5OTk5OTk5XQ",  # an id beyond any integer column
    ],
)
async def test_a_forged_cursor_is_never_a_server_error(admin: GraphQLClient, after: str) -> None:
    response = await admin.post(PARTNERS, {"first": 5, "after": after})
    assert response.status_code < 500
    for error in response.json().get("errors") or []:
        assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", error


async def test_first_100_is_allowed(admin: GraphQLClient) -> None:
    partners = (await admin.data(PARTNERS, {"first": 100}))["partners"]
    assert partners["totalCount"] == 2


# --- who may call the registry ----------------------------------------------------------


def _admin_operations(world: dict) -> dict[str, tuple[str, dict[str, Any]]]:
    """One valid call of every admin registry operation (it would succeed for an admin)."""
    return {
        "partnerCreate": (PARTNER_CREATE, {"input": {"name": "Sneaky Partner"}}),
        "partnerUpdate": (PARTNER_UPDATE, {"input": {"partnerId": gid(world["equant"]), "name": "Hacked"}}),
        "locationCreate": (LOCATION_CREATE, {"input": {"partnerId": gid(world["equant"]),
                                                       "name": "Equant Rome", "country": "IT"}}),
        "locationUpdate": (LOCATION_UPDATE, {"input": {"locationId": gid(world["china"]), "name": "Hacked"}}),
        "userCreate": (USER_CREATE, {"input": user_input(world)}),
        "userUpdate": (USER_UPDATE, {"input": {"userId": gid(world["li"]), "active": False,
                                               "locationIds": [gid(world["china"])]}}),
        "certificationCreate": (CERTIFICATION_CREATE, {"input": {"userId": gid(world["mei"]), "code": "CSE"}}),
        "certificationRemove": (CERTIFICATION_REMOVE, {"input": {"userId": gid(world["chen"]), "code": "CSE"}}),
        "partners": (PARTNERS, {"search": "equ"}),
    }


OPERATIONS = [
    "partnerCreate", "partnerUpdate", "locationCreate", "locationUpdate", "userCreate",
    "userUpdate", "certificationCreate", "certificationRemove", "partners",
]


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_a_partner_user_is_forbidden_the_registry(
    client: GraphQLClient, world: dict, operation: str
) -> None:
    # given
    mei = await client.as_user("mei.lin", PARTNER_PASSWORD)
    document, variables = _admin_operations(world)[operation]
    before = await snapshot()
    # when
    result = await mei.gql(document, variables)
    # then
    assert result["data"] is None
    assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"]
    assert result["errors"][0]["path"] == [operation]
    assert await snapshot() == before


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("token", [None, "not-a-real-token"])
async def test_the_registry_needs_a_login(
    client: GraphQLClient, world: dict, operation: str, token: str | None
) -> None:
    document, variables = _admin_operations(world)[operation]
    before = await snapshot()
    result = await client.gql(document, variables, token=token or "")
    assert result["data"] is None
    assert [e["extensions"]["code"] for e in result["errors"]] == ["UNAUTHENTICATED"]
    assert await snapshot() == before


async def test_the_admin_operations_used_above_succeed_for_an_admin(
    admin: GraphQLClient, world: dict
) -> None:
    """The calls refused to partner users are valid: the refusal is about who calls."""
    for operation in OPERATIONS:
        document, variables = _admin_operations(world)[operation]
        result = await admin.data(document, variables)
        payload = result[operation]
        if operation != "partners":
            assert payload["userErrors"] == [], (operation, payload)

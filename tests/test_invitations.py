"""Invitations over the real ASGI app and a real SMTP server: invitationSend (one
application per program and location, re-sends, new rounds, who may be invited),
invitationPreview and invitationAccept (first password, login through the link, expiry),
node(Invitation) for admins only, and link tokens kept only as hashes.

A refused send answers with userErrors and writes nothing: those tests count the rows of
every table a send writes, before and after.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise import Tortoise

from smbselect import ids
from smbselect.db.enums import ApplicationEventKind, ApplicationStatus
from smbselect.db.models import (
    Application,
    ApplicationEvent,
    EmailMessage,
    Invitation,
    InvitationApplication,
    InvitationLink,
    Program,
    TermsAcceptance,
    User,
)
from smbselect.resolvers.invitations import expire_due
from smbselect.testing import ADMIN_PASSWORD, PARTNER_PASSWORD, GraphQLClient, make_partner, make_user

# --- documents --------------------------------------------------------------------------

ERRORS = "userErrors { code field message }"

SEND = f"""
mutation Send($input: InvitationSendInput!) {{
  invitationSend(input: $input) {{
    invitation {{
      id program {{ code }} partner {{ name }} users {{ username }} invitedBy {{ username }}
      sentAt expiresAt
      applications {{ id status round invitationExpiresAt location {{ name }} }}
      emails {{ to subject }}
    }}
    {ERRORS}
  }}
}}
"""

PREVIEW = """
query Preview($token: String!) {
  invitationPreview(token: $token) {
    programName partnerName expiresAt expired needsPassword supportEmail
  }
}
"""

ACCEPT = f"""
mutation Accept($token: String!, $password: String!) {{
  invitationAccept(input: {{token: $token, password: $password}}) {{
    token
    user {{ username }}
    applications {{ status program {{ code }} location {{ name }} }}
    {ERRORS}
  }}
}}
"""

ME = """
query Me {
  me { username locations { name applications { status round program { code } } } }
}
"""

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename
    ... on Invitation { id users { username } applications { status location { name } } }
  }
}
"""

LINK_PREFIX = "http://app.test/invitations/"
GOOD_PASSWORD = "a-brand-new-password"


# --- helpers ----------------------------------------------------------------------------


def gid(type_name: str, row: Any) -> str:
    return ids.encode(type_name, row.id)


async def smb_select() -> Program:
    return await Program.get(code="SMB_SELECT")


async def admin_client(client: GraphQLClient) -> GraphQLClient:
    return await client.as_user("admin", ADMIN_PASSWORD)


async def send_input(world: dict, users: list[User], **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "programId": gid("Program", await smb_select()),
        "partnerId": gid("Partner", world["equant"]),
        "userIds": [gid("User", u) for u in users],
    }
    data.update(extra)
    return data


async def send(admin: GraphQLClient, data: dict[str, Any]) -> dict[str, Any]:
    return (await admin.data(SEND, {"input": data}))["invitationSend"]


async def delivered_links(app: Any, smtp: Any, address: str, count: int) -> list[str]:
    """The invitation links in the emails ``address`` received, oldest first."""
    await app.state.relay.drain_once()
    await smtp.wait_for(count)
    links = [link for m in smtp.to(address) for link in m.links() if link.startswith(LINK_PREFIX)]
    assert len(links) == count, links
    return links


def token_of(link: str) -> str:
    return link.removeprefix(LINK_PREFIX)


async def counts() -> dict[str, int]:
    return {
        model.__name__: await model.all().count()
        for model in (Application, ApplicationEvent, Invitation, InvitationApplication,
                      InvitationLink, EmailMessage)
    }


# --- sending ----------------------------------------------------------------------------


async def test_send_opens_an_application_per_location_and_emails_the_user(client, world, smtp, app):
    # given the admin and li, who acts for Equant China and Equant Austria
    admin = await admin_client(client)
    # when the admin invites li to SMB Select
    result = await send(admin, await send_input(world, [world["li"]]))
    # then one invitation opens two IN_PROGRESS applications, one per location
    assert result["userErrors"] == []
    invitation = result["invitation"]
    assert invitation["program"] == {"code": "SMB_SELECT"}
    assert invitation["partner"] == {"name": "Equant"}
    assert invitation["users"] == [{"username": "li.wei"}]
    assert invitation["invitedBy"] == {"username": "admin"}
    assert sorted((a["location"]["name"], a["status"], a["round"]) for a in invitation["applications"]) == [
        ("Equant Austria", "IN_PROGRESS", 1), ("Equant China", "IN_PROGRESS", 1),
    ]
    expires = datetime.fromisoformat(invitation["expiresAt"])
    sent = datetime.fromisoformat(invitation["sentAt"])
    assert expires - sent == timedelta(days=30)
    assert {a["invitationExpiresAt"] for a in invitation["applications"]} == {invitation["expiresAt"]}
    assert invitation["emails"] == [{"to": ["li.wei@example.com"], "subject": "Invitation to SMB Select"}]
    # and li sees them in her In-Progress table
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    me = (await li.data(ME))["me"]
    assert sorted((loc["name"], [(a["status"], a["program"]["code"]) for a in loc["applications"]])
                  for loc in me["locations"]) == [
        ("Equant Austria", [("IN_PROGRESS", "SMB_SELECT")]),
        ("Equant China", [("IN_PROGRESS", "SMB_SELECT")]),
    ]
    # and each application's trail starts with INVITED by the admin
    for row in await Application.all():
        trail = await ApplicationEvent.filter(application_id=row.id).order_by("id")
        assert [(e.kind, e.actor_id, e.to_status) for e in trail] == [
            (ApplicationEventKind.INVITED, world["admin"].id, ApplicationStatus.IN_PROGRESS)
        ]
    # and li alone receives one email: her own link, the program, the locations, the expiry
    [link] = await delivered_links(app, smtp, "li.wei@example.com", 1)
    assert len(smtp.messages) == 1
    text = smtp.messages[0].text
    assert "medium businesses" in text and "SMB Select is the partner program" in text
    assert "Equant China (CN)" in text and "Equant Austria (AT)" in text
    assert expires.strftime("%Y-%m-%d") in text
    assert "support@smbselect.test" in text
    assert len(token_of(link)) >= 40
    email_row = await EmailMessage.get()
    assert (email_row.kind, email_row.invitation_id) == ("invitation", ids.decode(invitation["id"], "Invitation"))


async def test_send_can_be_limited_to_some_locations(client, world, smtp, app):
    # given the admin
    admin = await admin_client(client)
    # when li is invited for Equant Austria only
    result = await send(admin, await send_input(world, [world["li"]],
                                                locationIds=[gid("Location", world["austria"])]))
    # then only Austria's application is opened
    assert result["userErrors"] == []
    assert [a["location"]["name"] for a in result["invitation"]["applications"]] == ["Equant Austria"]
    assert await Application.filter(location_id=world["china"].id).count() == 0


async def test_inviting_again_resends_the_email_and_extends_the_expiry(client, world, smtp, app):
    # given li invited once, a week ago as far as the expiries are concerned
    admin = await admin_client(client)
    first = await send(admin, await send_input(world, [world["li"]]))
    assert first["userErrors"] == []
    [old_link] = await delivered_links(app, smtp, "li.wei@example.com", 1)
    week_ago_expiry = datetime.now(UTC) + timedelta(days=23)
    await Application.all().update(invitation_expires_at=week_ago_expiry)
    await InvitationLink.all().update(expires_at=week_ago_expiry)
    # and China's application already started
    await Application.filter(location_id=world["china"].id).update(status=ApplicationStatus.NOT_SUBMITTED)
    # when the admin invites li again
    second = await send(admin, await send_input(world, [world["li"]]))
    # then there is still one application per location, each keeping its status and round
    assert second["userErrors"] == []
    assert await Application.all().count() == 2
    assert sorted((a["location"]["name"], a["status"], a["round"]) for a in second["invitation"]["applications"]) == [
        ("Equant Austria", "IN_PROGRESS", 1), ("Equant China", "NOT_SUBMITTED", 1),
    ]
    # and both point at the new invitation, with the new, later expiry
    new_id = ids.decode(second["invitation"]["id"], "Invitation")
    new_expiry = datetime.fromisoformat(second["invitation"]["expiresAt"])
    assert new_expiry > week_ago_expiry + timedelta(days=6)
    for row in await Application.all():
        assert row.invitation_id == new_id
        assert row.invitation_expires_at == new_expiry
        kinds = await ApplicationEvent.filter(application_id=row.id).order_by("id").values_list("kind", flat=True)
        assert kinds == [ApplicationEventKind.INVITED, ApplicationEventKind.INVITED]
    # and li receives a second email with a new link; the old link lives as long as the new one
    links = await delivered_links(app, smtp, "li.wei@example.com", 2)
    assert links[0] == old_link and links[1] != old_link
    for link in links:
        preview = (await client.data(PREVIEW, {"token": token_of(link)}))["invitationPreview"]
        assert preview["expired"] is False
        assert datetime.fromisoformat(preview["expiresAt"]) == new_expiry


async def test_a_withdrawn_application_is_reopened_as_the_next_round(client, world, smtp, app):
    # given li invited, and China's application withdrawn after its terms were accepted
    admin = await admin_client(client)
    assert (await send(admin, await send_input(world, [world["li"]])))["userErrors"] == []
    china = await Application.get(location_id=world["china"].id)
    await TermsAcceptance.create(application_id=china.id, user_id=world["li"].id, username="li.wei",
                                 version="2026-01", sha256="0" * 64, accepted_at=datetime.now(UTC))
    await Application.filter(id=china.id).update(status=ApplicationStatus.WITHDRAWN, terms_declined=True)
    # when the admin invites li again
    result = await send(admin, await send_input(world, [world["li"]]))
    # then China's application (the same row) is IN_PROGRESS again, as round 2
    assert result["userErrors"] == []
    reopened = await Application.get(id=china.id)
    assert (reopened.status, reopened.round, reopened.terms_declined) == (ApplicationStatus.IN_PROGRESS, 2, False)
    assert await Application.filter(location_id=world["china"].id).count() == 1
    # and its history is kept, with REOPENED from WITHDRAWN in the new round
    trail = await ApplicationEvent.filter(application_id=china.id).order_by("id")
    assert [(e.kind, e.round, e.from_status, e.to_status) for e in trail] == [
        (ApplicationEventKind.INVITED, 1, None, ApplicationStatus.IN_PROGRESS),
        (ApplicationEventKind.REOPENED, 2, ApplicationStatus.WITHDRAWN, ApplicationStatus.IN_PROGRESS),
        (ApplicationEventKind.INVITED, 2, None, None),
    ]
    assert trail[1].actor_id == world["admin"].id
    # and the old round's terms acceptance no longer counts
    assert await TermsAcceptance.filter(application_id=china.id, withdrawn_at=None).count() == 0
    # and Austria, still open, keeps round 1
    austria = await Application.get(location_id=world["austria"].id)
    assert (austria.status, austria.round) == (ApplicationStatus.IN_PROGRESS, 1)


# --- refusals ---------------------------------------------------------------------------


async def _unregistered(world: dict) -> dict[str, Any]:
    other = await make_partner("Unlisted Ltd", registered=False)
    person = await make_user("una.listed", partner=other, password=PARTNER_PASSWORD)
    return {"partnerId": gid("Partner", other), "userIds": [gid("User", person)]}


async def _nobody_can_log_in(world: dict) -> dict[str, Any]:
    other = await make_partner("Quiet GmbH")
    person = await make_user("quiet.one", partner=other)  # no password
    await make_user("gone.one", partner=other, password=PARTNER_PASSWORD, active=False)
    return {"partnerId": gid("Partner", other), "userIds": [gid("User", person)]}


async def _other_partners_user(world: dict) -> dict[str, Any]:
    return {"userIds": [gid("User", world["li"]), gid("User", world["ole"])]}


async def _inactive_user(world: dict) -> dict[str, Any]:
    gone = await make_user("gone.away", partner=world["equant"], password=PARTNER_PASSWORD,
                           acts_for=[world["china"]], active=False)
    return {"userIds": [gid("User", gone)]}


async def _unknown_user(world: dict) -> dict[str, Any]:
    return {"userIds": [gid("User", world["li"]), ids.encode("User", 999_999)]}


async def _no_users(world: dict) -> dict[str, Any]:
    return {"userIds": []}


async def _unknown_partner(world: dict) -> dict[str, Any]:
    return {"partnerId": ids.encode("Partner", 999_999)}


async def _unknown_program(world: dict) -> dict[str, Any]:
    return {"programId": ids.encode("Program", 999_999)}


async def _inactive_program(world: dict) -> dict[str, Any]:
    await Program.filter(code="SMB_SELECT").update(active=False)
    return {}


async def _location_of_another_partner(world: dict) -> dict[str, Any]:
    return {"locationIds": [gid("Location", world["austria"]), gid("Location", world["oslo"])]}


async def _no_location_given(world: dict) -> dict[str, Any]:
    return {"locationIds": []}


async def _nobody_acts_for_a_location(world: dict) -> dict[str, Any]:
    return {"userIds": [gid("User", world["chen"])]}  # staff only, acts for nothing


@pytest.mark.parametrize(
    ("given", "code", "field"),
    [
        (_unregistered, "NOT_ELIGIBLE", ["input", "partnerId"]),
        (_nobody_can_log_in, "NOT_ELIGIBLE", ["input", "partnerId"]),
        (_other_partners_user, "NOT_FOUND", ["input", "userIds", "1"]),
        (_inactive_user, "NOT_FOUND", ["input", "userIds", "0"]),
        (_unknown_user, "NOT_FOUND", ["input", "userIds", "1"]),
        (_no_users, "REQUIRED", ["input", "userIds"]),
        (_unknown_partner, "NOT_FOUND", ["input", "partnerId"]),
        (_unknown_program, "NOT_FOUND", ["input", "programId"]),
        (_inactive_program, "PROGRAM_UNAVAILABLE", ["input", "programId"]),
        (_location_of_another_partner, "NOT_FOUND", ["input", "locationIds", "1"]),
        (_no_location_given, "INVALID", ["input", "locationIds"]),
        (_nobody_acts_for_a_location, "INVALID", ["input", "userIds"]),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
async def test_a_refused_send_writes_nothing_and_sends_nothing(client, world, smtp, app, given, code, field):
    # given the admin and a send with one thing wrong
    admin = await admin_client(client)
    data = await send_input(world, [world["li"]])
    data.update(await given(world))
    before = await counts()
    # when it is sent
    result = await send(admin, data)
    # then exactly that is reported, and nothing is written or emailed
    assert result["invitation"] is None
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [(code, field)]
    assert all(e["message"] for e in result["userErrors"])
    assert await counts() == before
    await app.state.relay.drain_once()
    assert smtp.messages == []


async def test_a_send_reports_every_problem_at_once(client, world, smtp, app):
    # given the admin
    admin = await admin_client(client)
    data = {
        "programId": ids.encode("Program", 999_999),
        "partnerId": gid("Partner", world["equant"]),
        "userIds": [gid("User", world["ole"]), gid("User", world["li"]), gid("User", world["admin"])],
    }
    # when a send has an unknown program and two people who are not Equant's
    result = await send(admin, data)
    # then all three are reported
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [
        ("NOT_FOUND", ["input", "programId"]),
        ("NOT_FOUND", ["input", "userIds", "0"]),
        ("NOT_FOUND", ["input", "userIds", "2"]),
    ]


async def test_only_an_admin_may_send(client, world, smtp, app):
    # given li, a partner user, and an anonymous caller
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    data = await send_input(world, [world["li"]])
    # when either tries to send an invitation
    as_partner = await li.gql(SEND, {"input": data})
    anonymous = await client.gql(SEND, {"input": data}, token="")
    # then the partner is FORBIDDEN, the anonymous caller UNAUTHENTICATED, and nothing is written
    assert as_partner["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await Invitation.all().count() == 0
    assert await Application.all().count() == 0


# --- preview and accept -----------------------------------------------------------------


async def test_a_user_with_a_password_logs_in_through_the_link(client, world, smtp, app):
    # given li (who has a password) invited, and her link
    admin = await admin_client(client)
    sent = await send(admin, await send_input(world, [world["li"]]))
    [link] = await delivered_links(app, smtp, "li.wei@example.com", 1)
    token = token_of(link)
    # when anyone previews the link
    preview = (await client.data(PREVIEW, {"token": token}, token=""))["invitationPreview"]
    # then it shows the program, the partner and that no password needs choosing
    assert preview == {
        "programName": "SMB Select", "partnerName": "Equant",
        "expiresAt": sent["invitation"]["expiresAt"], "expired": False, "needsPassword": False,
        "supportEmail": "support@smbselect.test",
    }
    # when li accepts with a wrong password
    wrong = (await client.data(ACCEPT, {"token": token, "password": "not-her-password"}, token=""))
    # then it is refused as a login would be
    assert wrong["invitationAccept"]["token"] is None
    assert [(e["code"], e["field"], e["message"]) for e in wrong["invitationAccept"]["userErrors"]] == [
        ("INVALID", ["input", "password"], "The username or password is not correct.")
    ]
    # when she accepts with her password
    accepted = (await client.data(ACCEPT, {"token": token, "password": PARTNER_PASSWORD}, token=""))["invitationAccept"]
    # then she is logged in and sees the two applications the invitation opened
    assert accepted["userErrors"] == []
    assert accepted["user"] == {"username": "li.wei"}
    assert sorted((a["location"]["name"], a["status"], a["program"]["code"]) for a in accepted["applications"]) == [
        ("Equant Austria", "IN_PROGRESS", "SMB_SELECT"), ("Equant China", "IN_PROGRESS", "SMB_SELECT"),
    ]
    me = (await client.data(ME, token=accepted["token"]))["me"]
    assert me["username"] == "li.wei"
    link_row = await InvitationLink.get(user_id=world["li"].id)
    assert link_row.accepted_at is not None
    # and the link keeps working until it expires
    again = (await client.data(ACCEPT, {"token": token, "password": PARTNER_PASSWORD}, token=""))["invitationAccept"]
    assert again["userErrors"] == [] and again["token"] not in (None, accepted["token"])


async def test_a_new_user_chooses_a_password_through_the_link(client, world, smtp, app):
    # given a new Equant China user without a password, invited
    wang = await make_user("wang.fang", partner=world["equant"], acts_for=[world["china"]])
    admin = await admin_client(client)
    assert (await send(admin, await send_input(world, [wang])))["userErrors"] == []
    [link] = await delivered_links(app, smtp, "wang.fang@example.com", 1)
    token = token_of(link)
    # when the link is previewed
    preview = (await client.data(PREVIEW, {"token": token}, token=""))["invitationPreview"]
    # then it asks for a password to be chosen
    assert preview["needsPassword"] is True and preview["expired"] is False
    # when wang chooses one that is too short
    short = (await client.data(ACCEPT, {"token": token, "password": "short"}, token=""))["invitationAccept"]
    # then it is refused and no password is set
    assert short["token"] is None
    assert [(e["code"], e["field"]) for e in short["userErrors"]] == [("INVALID", ["input", "password"])]
    assert (await User.get(id=wang.id)).password_hash is None
    # when wang chooses a good one
    accepted = (await client.data(ACCEPT, {"token": token, "password": GOOD_PASSWORD}, token=""))["invitationAccept"]
    # then wang is logged in and sees only the application of the location they act for
    assert accepted["userErrors"] == []
    assert [(a["location"]["name"], a["status"]) for a in accepted["applications"]] == [
        ("Equant China", "IN_PROGRESS")
    ]
    me = (await client.data(ME, token=accepted["token"]))["me"]
    assert me["username"] == "wang.fang"
    assert [loc["name"] for loc in me["locations"]] == ["Equant China"]
    # and the password now works for login and is no longer asked for
    assert await client.login("wang.fang", GOOD_PASSWORD)
    assert (await client.data(PREVIEW, {"token": token}, token=""))["invitationPreview"]["needsPassword"] is False
    # and using the link again checks that password instead of setting another
    other = (await client.data(ACCEPT, {"token": token, "password": "yet-another-password"}, token=""))
    assert other["invitationAccept"]["userErrors"][0]["code"] == "INVALID"
    assert await client.login("wang.fang", GOOD_PASSWORD)


async def test_an_expired_link_is_refused_and_its_application_expires(client, world, smtp, app):
    # given li invited, and the invitation run out
    admin = await admin_client(client)
    assert (await send(admin, await send_input(world, [world["li"]])))["userErrors"] == []
    [link] = await delivered_links(app, smtp, "li.wei@example.com", 1)
    past = datetime.now(UTC) - timedelta(minutes=1)
    await InvitationLink.all().update(expires_at=past)
    await Application.all().update(invitation_expires_at=past)
    # when the link is previewed
    preview = (await client.data(PREVIEW, {"token": token_of(link)}, token=""))["invitationPreview"]
    # then it says it expired, with the support address
    assert preview["expired"] is True and preview["supportEmail"] == "support@smbselect.test"
    # and the IN_PROGRESS applications are EXPIRED, by the system
    for row in await Application.all():
        assert row.status == ApplicationStatus.EXPIRED
        last = await ApplicationEvent.filter(application_id=row.id).order_by("-id").first()
        assert last is not None
        assert (last.kind, last.actor_id, last.from_status, last.to_status) == (
            ApplicationEventKind.EXPIRED, None, ApplicationStatus.IN_PROGRESS, ApplicationStatus.EXPIRED
        )
    # when li tries to accept it
    accepted = (await client.data(ACCEPT, {"token": token_of(link), "password": PARTNER_PASSWORD}, token=""))
    # then the link is invalid, and the message says what to do and whom to write to
    [error] = accepted["invitationAccept"]["userErrors"]
    assert (error["code"], error["field"]) == ("INVITATION_INVALID", ["input", "token"])
    assert "new invitation" in error["message"] and "support@smbselect.test" in error["message"]
    assert accepted["invitationAccept"]["token"] is None
    # and expiring again changes nothing
    assert await expire_due() == 0
    assert await ApplicationEvent.filter(kind=ApplicationEventKind.EXPIRED).count() == 2


async def test_expire_due_expires_only_applications_still_in_progress(client, world, smtp, app):
    # given li invited; China started, Austria still IN_PROGRESS; both invitations run out
    admin = await admin_client(client)
    assert (await send(admin, await send_input(world, [world["li"]])))["userErrors"] == []
    await Application.filter(location_id=world["china"].id).update(status=ApplicationStatus.NOT_SUBMITTED)
    await Application.all().update(invitation_expires_at=datetime.now(UTC) - timedelta(seconds=1))
    # when the periodic expiry runs
    changed = await expire_due()
    # then only Austria expired
    assert changed == 1
    assert (await Application.get(location_id=world["china"].id)).status == ApplicationStatus.NOT_SUBMITTED
    assert (await Application.get(location_id=world["austria"].id)).status == ApplicationStatus.EXPIRED
    # and an expired application is reopened by a new invitation as round 2
    result = await send(admin, await send_input(world, [world["li"]]))
    assert result["userErrors"] == []
    austria = await Application.get(location_id=world["austria"].id)
    assert (austria.status, austria.round) == (ApplicationStatus.IN_PROGRESS, 2)


async def test_an_unknown_token_shows_nothing_and_logs_in_nobody(client, world, smtp, app):
    # given no invitation at all
    # when someone previews or accepts a made-up token
    preview = await client.data(PREVIEW, {"token": "made-up-token"}, token="")
    accepted = await client.data(ACCEPT, {"token": "made-up-token", "password": PARTNER_PASSWORD}, token="")
    # then the preview is null and the accept is refused with the support address
    assert preview == {"invitationPreview": None}
    [error] = accepted["invitationAccept"]["userErrors"]
    assert (error["code"], error["field"]) == ("INVITATION_INVALID", ["input", "token"])
    assert "support@smbselect.test" in error["message"]
    assert accepted["invitationAccept"]["token"] is None


async def test_an_inactive_users_link_is_refused(client, world, smtp, app):
    # given li invited, then deactivated
    admin = await admin_client(client)
    assert (await send(admin, await send_input(world, [world["li"]])))["userErrors"] == []
    [link] = await delivered_links(app, smtp, "li.wei@example.com", 1)
    await User.filter(id=world["li"].id).update(active=False)
    # when her link is used
    accepted = await client.data(ACCEPT, {"token": token_of(link), "password": PARTNER_PASSWORD}, token="")
    # then it is refused as an invalid link
    assert [e["code"] for e in accepted["invitationAccept"]["userErrors"]] == ["INVITATION_INVALID"]
    assert accepted["invitationAccept"]["token"] is None


# --- who may see an invitation, and what is stored -------------------------------------------


async def test_an_invitation_is_the_admins_alone(client, world, smtp, app):
    # given an invitation of li
    admin = await admin_client(client)
    sent = await send(admin, await send_input(world, [world["li"]]))
    invitation_id = sent["invitation"]["id"]
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    # when li and the admin ask for it by id
    as_li = await li.data(NODE, {"id": invitation_id})
    as_admin = await admin.data(NODE, {"id": invitation_id})
    # then li gets null, as for something that does not exist, and the admin gets it
    assert as_li == {"node": None}
    node = as_admin["node"]
    assert node["__typename"] == "Invitation" and node["id"] == invitation_id
    assert node["users"] == [{"username": "li.wei"}]
    assert sorted(a["location"]["name"] for a in node["applications"]) == ["Equant Austria", "Equant China"]


async def test_link_tokens_are_stored_only_as_hashes(client, world, smtp, app):
    # given li invited, and the token of her link
    admin = await admin_client(client)
    assert (await send(admin, await send_input(world, [world["li"]])))["userErrors"] == []
    [link] = await delivered_links(app, smtp, "li.wei@example.com", 1)
    token = token_of(link)
    # then the link row holds the token's SHA-256
    row = await InvitationLink.get()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    # and the token itself is in no column of any table but the outbox, whose job is to
    # carry the link to its recipient
    conn = Tortoise.get_connection("default")
    for model in Tortoise.apps["models"].values():
        table = model._meta.db_table
        if table == "email_message":
            continue
        rows = await conn.execute_query_dict(f'SELECT * FROM "{table}"')
        assert all(token not in str(value) for r in rows for value in r.values()), table


async def test_two_racing_sends_open_each_application_once(client, world, smtp, app):
    # given the admin
    admin = await admin_client(client)
    data = await send_input(world, [world["li"], world["mei"]])
    # when the same invitation is sent twice at the same moment
    results = await asyncio.gather(send(admin, data), send(admin, data))
    # then both succeed, and each location still has exactly one application
    assert [r["userErrors"] for r in results] == [[], []]
    assert await Invitation.all().count() == 2
    assert sorted(await Application.all().values_list("location_id", flat=True)) == sorted(
        [world["china"].id, world["austria"].id]
    )
    assert await InvitationApplication.all().count() == 4
    # and li and mei each got one email per send
    assert await EmailMessage.filter(kind="invitation").count() == 4


async def test_ids_beyond_any_row_are_not_found(client, world, smtp, app):
    # given the admin, and ids larger than any id column holds
    admin = await admin_client(client)
    huge = 2**40
    data = await send_input(world, [world["li"]], locationIds=[ids.encode("Location", huge)])
    data["userIds"].append(ids.encode("User", huge))
    # when they are used
    result = await send(admin, data)
    node = await admin.data(NODE, {"id": ids.encode("Invitation", huge)})
    # then they are simply not found, on every database
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [
        ("NOT_FOUND", ["input", "userIds", "1"]), ("NOT_FOUND", ["input", "locationIds", "0"]),
    ]
    assert node == {"node": None}


async def test_accepting_a_link_upgrades_a_hash_made_with_older_parameters(client, world, smtp, app):
    """The link logs her in as login does, so it upgrades her password hash as login does."""
    from argon2 import PasswordHasher

    from smbselect import security

    # given li's password hashed with the library's default profile (64 MiB, 4 lanes), and her link
    old_hash = PasswordHasher().hash(PARTNER_PASSWORD)
    await User.filter(id=world["li"].id).update(password_hash=old_hash)
    admin = await admin_client(client)
    await send(admin, await send_input(world, [world["li"]]))
    [link] = await delivered_links(app, smtp, "li.wei@example.com", 1)
    # when she accepts it with her password
    accepted = (await client.data(ACCEPT, {"token": token_of(link), "password": PARTNER_PASSWORD},
                                  token=""))["invitationAccept"]
    # then she is in, and her hash has today's parameters and still opens her account
    assert accepted["userErrors"] == [] and accepted["token"]
    stored = (await User.get(id=world["li"].id)).password_hash
    assert stored != old_hash and not security.needs_rehash(stored)
    assert await security.verify_password(stored, PARTNER_PASSWORD)

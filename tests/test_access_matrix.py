"""The access matrix (issue "Hardening", item 1): every Query field and Mutation that takes
an ID, called with ids of every kind, as a partner user and as an admin.

The contract's header: a partner user sees the locations they act for, those locations'
applications, documents and people, and their partner's name; anything else is reported
exactly as something that does not exist (null from a query, NOT_FOUND from a mutation,
with the same message).

The fields are enumerated from the schema itself (``test_every_id_argument_has_a_case``),
so a new field or input field that takes an ID fails until it has a case in ``CASES``.
Each case is called with an id of: the caller's own location's object, another location of
the same partner, another partner's, an admin's user record (for users), an id that does
not exist (valid encoding, unknown pk), a malformed id ("garbage"), a well-formed one past
the 32-bit keys, and an id of another type with the pk of the caller's own object. What the
caller may not see must give the very same response (status and whole JSON) as the
nonexistent id, and must write nothing (every row of every table, the stored files) and
queue no email.

The world (built for each case, in the state the case needs):
  Equant: Equant China (li.wei acts for it; mei.lin acts for it and is its staff) and
          Equant Austria (anna.huber acts for it and is its staff)
  Nordic Networks: Nordic Oslo (ole.hansen acts for it and is its staff)
  cisco.admin (the caller, named "Program Team") and ops.admin (another admin)
  one application of ACCESS_PROGRAM at each location (with an invitation, a job
  allocation, accepted terms and an uploaded NDA), and a FAILED email of each.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLInputObjectType,
    GraphQLSchema,
    is_input_object_type,
    is_list_type,
    is_non_null_type,
    is_scalar_type,
)

from smbselect import ids, testing
from smbselect.context import Context
from smbselect.db.enums import ApplicationStatus, EmailStatus, UserRole
from smbselect.db.models import (
    Application,
    Document,
    EmailMessage,
    Invitation,
    LocationMember,
    LocationStaff,
    Partner,
    Program,
    User,
)
from smbselect.mail.outbox import queue_email
from smbselect.plugins import DocumentRequirementDef, JobRoleDef, ProgramDef, TermsDef, hookimpl
from smbselect.resolvers import documents
from smbselect.resolvers.auth import start_session
from smbselect.schema.root import schema
from smbselect.testing import ADMIN_PASSWORD, PARTNER_PASSWORD, GraphQLClient

# --- the program of these tests -----------------------------------------------------------

ACCESS_PROGRAM = ProgramDef(
    code="ACCESS_PROGRAM",
    name="Access Program",
    description="One engineer, the terms and a signed NDA.",
    job_roles=(JobRoleDef("ENGINEER", "Engineer", ("CSE",)),),
    max_roles_per_person=1,
    terms=TermsDef(version="1", text="Be nice."),
    required_documents=(
        DocumentRequirementDef("NDA", "Signed NDA", "The NDA, signed, as a PDF.",
                               ("application/pdf",), 1_000_000),
    ),
)


class AccessProgramPlugin:
    @hookimpl
    def smbselect_programs(self) -> list[ProgramDef]:
        return [ACCESS_PROGRAM]


PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
)

# --- calling ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    query: str
    variables: dict[str, Any]
    # variable path ("variables.file") -> (file name, bytes, content type): a multipart request
    files: dict[str, tuple[str, bytes, str]] | None = None


def multipart(operations: dict[str, Any], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A GraphQL multipart request body: operations, map, then one part per file."""
    boundary = uuid.uuid4().hex
    mapping = {str(i): [path] for i, path in enumerate(files)}
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode() + b"\r\n"
        for name, value in (("operations", json.dumps(operations)), ("map", json.dumps(mapping)))
    ]
    for i, (filename, content, content_type) in enumerate(files.values()):
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{i}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def send(client: GraphQLClient, call: Call) -> dict[str, Any]:
    """The whole answer: HTTP status and JSON body."""
    if call.files:
        variables = dict(call.variables)
        for path in call.files:
            variables[path.split(".", 1)[1]] = None
        body, content_type = multipart({"query": call.query, "variables": variables}, call.files)
        headers = {"Content-Type": content_type}
        if client.token:
            headers["Authorization"] = f"Bearer {client.token}"
        response = await client.http.post("/graphql", content=body, headers=headers)
    else:
        response = await client.post(call.query, call.variables)
    assert response.status_code < 500, response.text
    answer = {"status": response.status_code, "json": response.json()}
    text = json.dumps(answer)
    assert "INTERNAL_SERVER_ERROR" not in text and "Unexpected error" not in text, text
    return answer


def error_codes(answer: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in answer["json"].get("errors") or []]


def user_error_codes(value: Any) -> list[str]:
    """Every ``code`` of a userErrors entry anywhere in the data."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "userErrors" and isinstance(item, list):
                found += [e.get("code") for e in item if isinstance(e, dict)]
            else:
                found += user_error_codes(item)
    elif isinstance(value, list):
        for item in value:
            found += user_error_codes(item)
    return found


# --- the world ----------------------------------------------------------------------------

LOCATIONS = ("china", "austria", "oslo")


@dataclass
class World:
    li: GraphQLClient
    admin: GraphQLClient
    settings: Any
    rows: dict[str, Any]
    # type name -> kind ("own", "sibling", "foreign", "admin_user") -> global id
    objects: dict[str, dict[str, str]] = field(default_factory=dict)

    def gid(self, name: str) -> str:
        row = self.rows[name]
        return ids.encode(type(row).__name__, row.id)

    @property
    def application_ids(self) -> list[int]:
        return [self.rows[f"{loc}_app"].id for loc in LOCATIONS]


ERRORS = "userErrors { code field message }"
SAVE = f"""mutation($id: ID!, $a: [JobAllocationInput!]!) {{
  jobAllocationsSave(input: {{applicationId: $id, allocations: $a}}) {{ {ERRORS} }} }}"""
ACCEPT = f"""mutation($id: ID!) {{ termsAccept(input: {{applicationId: $id, version: "1"}}) {{ {ERRORS} }} }}"""
UPLOAD = f"""mutation($id: ID!, $file: Upload!) {{
  documentUpload(input: {{applicationId: $id, requirementCode: "NDA", file: $file}}) {{
    document {{ id }} {ERRORS} }} }}"""


async def build_world(client: GraphQLClient, app: Any, settings: Any, register_plugin: Any) -> World:
    await register_plugin(AccessProgramPlugin(), "test-access-matrix-program")
    r: dict[str, Any] = {}
    r["admin"] = await testing.make_user("cisco.admin", role=UserRole.ADMIN, password=ADMIN_PASSWORD,
                                         name="Program Team")
    r["ops"] = await testing.make_user("ops.admin", role=UserRole.ADMIN, name="Ops Desk",
                                       certifications={"OLD": None})
    r["equant"] = await testing.make_partner("Equant")
    r["china"] = await testing.make_location(r["equant"], "Equant China", "CN")
    r["austria"] = await testing.make_location(r["equant"], "Equant Austria", "AT")
    r["nordic"] = await testing.make_partner("Nordic Networks")
    r["oslo"] = await testing.make_location(r["nordic"], "Nordic Oslo", "NO")
    certs = {"CSE": None, "OLD": None}
    r["li"] = await testing.make_user("li.wei", partner=r["equant"], password=PARTNER_PASSWORD,
                                      acts_for=[r["china"]])
    r["mei"] = await testing.make_user("mei.lin", partner=r["equant"], password=PARTNER_PASSWORD,
                                       acts_for=[r["china"]], staff_of=[r["china"]], certifications=certs)
    r["anna"] = await testing.make_user("anna.huber", partner=r["equant"], password=PARTNER_PASSWORD,
                                        acts_for=[r["austria"]], staff_of=[r["austria"]],
                                        certifications=certs)
    r["ole"] = await testing.make_user("ole.hansen", partner=r["nordic"], password=PARTNER_PASSWORD,
                                       acts_for=[r["oslo"]], staff_of=[r["oslo"]], certifications=certs)
    r["program"] = await Program.get(code=ACCESS_PROGRAM.code)
    ctx = Context(settings=settings, plugins=app.state.plugins)
    for loc, member in (("china", "mei"), ("austria", "anna"), ("oslo", "ole")):
        row = await testing.make_application(ACCESS_PROGRAM.code, r[loc], status="NOT_SUBMITTED",
                                             invited_by=r["admin"], invited_users=[r[member]])
        r[f"{loc}_app"] = row
        r[f"{loc}_invitation"] = await Invitation.get(id=row.invitation_id)
        # the location's member staffs the role, accepts the terms and uploads the NDA
        as_member = GraphQLClient(client.http, (await start_session(ctx, r[member])).token)
        app_gid = ids.encode("Application", row.id)
        user_gid = ids.encode("User", r[member].id)
        saved = await as_member.data(SAVE, {"id": app_gid, "a": [{"jobRoleCode": "ENGINEER", "userId": user_gid}]})
        assert saved["jobAllocationsSave"]["userErrors"] == []
        assert (await as_member.data(ACCEPT, {"id": app_gid}))["termsAccept"]["userErrors"] == []
        uploaded = await send(as_member, Call(UPLOAD, {"id": app_gid},
                                              {"variables.file": ("nda.pdf", PDF, "application/pdf")}))
        assert uploaded["json"]["data"]["documentUpload"]["userErrors"] == [], uploaded
        r[f"{loc}_doc"] = await Document.get(application_id=row.id)
        # and an email of the application that could not be delivered
        mail = await queue_email(to=[r[member].email], subject=f"A note to {r[loc].name}", text="Hello.",
                                 html=None, kind="test_note", settings=settings, application_id=row.id)
        await EmailMessage.filter(id=mail.id).update(status=EmailStatus.FAILED, attempts=14,
                                                     last_error="550 mailbox unavailable")
        r[f"{loc}_email"] = await EmailMessage.get(id=mail.id)

    world = World(
        li=await client.as_user("li.wei", PARTNER_PASSWORD),
        admin=await client.as_user("cisco.admin", ADMIN_PASSWORD),
        settings=settings,
        rows=r,
    )
    per_location = {"own": "china", "sibling": "austria", "foreign": "oslo"}
    world.objects = {
        "Location": {k: world.gid(v) for k, v in per_location.items()},
        "Application": {k: world.gid(f"{v}_app") for k, v in per_location.items()},
        "Document": {k: world.gid(f"{v}_doc") for k, v in per_location.items()},
        "EmailMessage": {k: world.gid(f"{v}_email") for k, v in per_location.items()},
        "Invitation": {k: world.gid(f"{v}_invitation") for k, v in per_location.items()},
        "User": {"own": world.gid("mei"), "sibling": world.gid("anna"), "foreign": world.gid("ole"),
                 "admin_user": world.gid("ops")},
        "Partner": {"own": world.gid("equant"), "foreign": world.gid("nordic")},
        "Program": {"own": world.gid("program")},
    }
    return world


async def set_status(world: World, status: ApplicationStatus) -> None:
    """Every application of the world in ``status`` (the one the case needs)."""
    extra: dict[str, Any] = {}
    if status == ApplicationStatus.SUBMITTED:
        extra = {"submitted_at": datetime.now(timezone.utc), "review_due_on": date.today() + timedelta(days=7)}
    await Application.filter(id__in=world.application_ids).update(status=status, **extra)


# --- what li may not see ------------------------------------------------------------------

HIDDEN_NAMES = ["Austria", "Nordic", "Oslo", "anna.huber", "Huber", "ole.hansen", "Hansen",
                "ops.admin", "Ops Desk", "cisco.admin"]


async def hidden_from_li(world: World) -> list[str]:
    """The quoted global id of every object li may not see, now."""
    r = world.rows
    china = r["china"].id
    people = set(await LocationMember.filter(location_id=china).values_list("user_id", flat=True))
    people |= set(await LocationStaff.filter(location_id=china).values_list("user_id", flat=True))
    people.add(r["li"].id)
    visible_apps = set(await Application.filter(location_id=china).values_list("id", flat=True))
    visible: dict[type, Callable[[Any], bool]] = {
        User: lambda u: u.id in people and u.partner_id == r["equant"].id,
        Partner: lambda p: p.id == r["equant"].id,
        type(r["china"]): lambda loc: loc.id == china,
        Application: lambda a: a.id in visible_apps,
        Document: lambda d: d.application_id in visible_apps,
        EmailMessage: lambda e: False,
        Invitation: lambda i: False,
    }
    out = []
    for model, may_see in visible.items():
        for row in await model.all():
            if not may_see(row):
                out.append(json.dumps(ids.encode(model.__name__, row.id)))
    return out


def assert_no_leak(text: str, hidden_ids: list[str], what: str) -> None:
    lowered = text.lower()
    names = [n for n in HIDDEN_NAMES if n.lower() in lowered]
    leaked = [i for i in hidden_ids if i in text]
    assert not names and not leaked, f"{what} shows {names + leaked}: {text}"


# --- nothing written ----------------------------------------------------------------------


async def snapshot(settings: Any) -> dict[str, Any]:
    """Every row of every table (application's updated_at and version included), the stored
    files, and the number of emails."""
    from tortoise import Tortoise

    state: dict[str, Any] = {}
    for models in Tortoise.apps.values():
        for model in models.values():
            state[model._meta.db_table] = await model.all().order_by("id").values()
    data_dir = Path(settings.data_dir)
    state["files"] = sorted(str(p) for p in data_dir.rglob("*")) if data_dir.exists() else []
    state["email count"] = await EmailMessage.all().count()
    return state


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What differs, table by table: the rows that went and the rows that came."""
    out: dict[str, Any] = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, list) and isinstance(new, list):
            out[key] = {"gone": [r for r in old if r not in new], "new": [r for r in new if r not in old]}
        else:
            out[key] = {"before": old, "after": new}
    return out


# --- the cases ----------------------------------------------------------------------------

NODE_TYPES = ("User", "Partner", "Location", "Application", "Document", "EmailMessage", "Invitation",
              "Program")
ANY, ADMIN, PARTNER = "any", "admin", "partner"  # who may call a field


@dataclass(frozen=True)
class Case:
    """How to call one field with an id at one argument path."""

    types: tuple[str, ...]  # what the id names (node: every Node type)
    build: Callable[[World, str], Call]
    who: str = ANY
    status: ApplicationStatus = ApplicationStatus.NOT_SUBMITTED  # of every application first


def q(text: str, **variables: Any) -> Call:
    return Call(text, variables)


def user_name_for(value: str) -> str:
    return "new." + hashlib.sha256(value.encode()).hexdigest()[:10]


NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
APPLICATION = "query($id: ID!) { application(id: $id) { id status location { name } } }"
APPLICATIONS = """query($f: ApplicationFilter) { applications(filter: $f) {
  totalCount edges { node { id status location { name } } } } }"""
PREVIEW = """query($id: ID!) {
  decisionEmailPreview(applicationId: $id, decision: CHANGES_REQUESTED, comment: "Add an engineer.") {
    to subject } }"""
APP_PAYLOAD = f"application {{ id status }} {ERRORS}"
USER_PAYLOAD = f"user {{ id username }} {ERRORS}"
S = ApplicationStatus


def user_create(extra: str) -> Callable[[World, str], Call]:
    def build(w: World, v: str) -> Call:
        name = user_name_for(v)
        data: dict[str, Any] = {"username": name, "email": f"{name}@example.com", "name": "New Person",
                                "role": "PARTNER"}
        data.update(json.loads(extra.replace("$v", v).replace("$equant", w.gid("equant"))))
        return q(f"mutation($i: UserCreateInput!) {{ userCreate(input: $i) {{ {USER_PAYLOAD} }} }}", i=data)
    return build


def user_update(extra: str) -> Callable[[World, str], Call]:
    def build(w: World, v: str) -> Call:
        data = json.loads(extra.replace("$v", v).replace("$mei", w.gid("mei")))
        return q(f"mutation($i: UserUpdateInput!) {{ userUpdate(input: $i) {{ {USER_PAYLOAD} }} }}", i=data)
    return build


def invitation_send(extra: str) -> Callable[[World, str], Call]:
    def build(w: World, v: str) -> Call:
        data = {"programId": w.gid("program"), "partnerId": w.gid("equant"), "userIds": [w.gid("mei")]}
        data.update(json.loads(extra.replace("$v", v)))
        return q(f"""mutation($i: InvitationSendInput!) {{ invitationSend(input: $i) {{
          invitation {{ id applications {{ id }} }} {ERRORS} }} }}""", i=data)
    return build


def app_step(mutation: str, payload: str = APP_PAYLOAD, args: str = "") -> Callable[[World, str], Call]:
    return lambda w, v: q(
        f"mutation($id: ID!) {{ {mutation}(input: {{applicationId: $id{args}}}) {{ {payload} }} }}", id=v)


CASES: dict[str, dict[str, Case]] = {
    # --- queries ---
    "node": {"id": Case(NODE_TYPES, lambda w, v: q(NODE, id=v))},
    "application": {"id": Case(("Application",), lambda w, v: q(APPLICATION, id=v))},
    "applications": {
        "filter.programIds[]": Case(("Program",), lambda w, v: q(APPLICATIONS, f={"programIds": [v]})),
        "filter.partnerId": Case(("Partner",), lambda w, v: q(APPLICATIONS, f={"partnerId": v})),
        "filter.locationId": Case(("Location",), lambda w, v: q(APPLICATIONS, f={"locationId": v})),
    },
    "decisionEmailPreview": {
        "applicationId": Case(("Application",), lambda w, v: q(PREVIEW, id=v), ADMIN, S.SUBMITTED),
    },
    # --- accounts and the registry (admins) ---
    "sessionRevoke": {"input.userId": Case(("User",), lambda w, v: q(
        f"mutation($id: ID!) {{ sessionRevoke(input: {{userId: $id}}) {{ {ERRORS} }} }}", id=v), ADMIN)},
    "partnerUpdate": {"input.partnerId": Case(("Partner",), lambda w, v: q(
        f"""mutation($id: ID!) {{ partnerUpdate(input: {{partnerId: $id, registered: true}}) {{
          partner {{ id name }} {ERRORS} }} }}""", id=v), ADMIN)},
    "locationCreate": {"input.partnerId": Case(("Partner",), lambda w, v: q(
        f"""mutation($id: ID!) {{ locationCreate(input: {{partnerId: $id, name: "New Site", country: "DE"}}) {{
          location {{ id name }} {ERRORS} }} }}""", id=v), ADMIN)},
    "locationUpdate": {"input.locationId": Case(("Location",), lambda w, v: q(
        f"""mutation($id: ID!) {{ locationUpdate(input: {{locationId: $id}}) {{
          location {{ id name }} {ERRORS} }} }}""", id=v), ADMIN)},
    "userCreate": {
        "input.partnerId": Case(("Partner",), user_create('{"partnerId": "$v"}'), ADMIN),
        "input.locationIds[]": Case(("Location",), user_create(
            '{"partnerId": "$equant", "locationIds": ["$v"]}'), ADMIN),
        "input.staffLocationIds[]": Case(("Location",), user_create(
            '{"partnerId": "$equant", "staffLocationIds": ["$v"]}'), ADMIN),
    },
    "userUpdate": {
        "input.userId": Case(("User",), user_update('{"userId": "$v", "active": true}'), ADMIN),
        "input.locationIds[]": Case(("Location",), user_update('{"userId": "$mei", "locationIds": ["$v"]}'),
                                    ADMIN),
        "input.staffLocationIds[]": Case(("Location",), user_update(
            '{"userId": "$mei", "staffLocationIds": ["$v"]}'), ADMIN),
    },
    "certificationCreate": {"input.userId": Case(("User",), lambda w, v: q(
        f"""mutation($id: ID!) {{ certificationCreate(input: {{userId: $id, code: "CCNP"}}) {{
          {USER_PAYLOAD} }} }}""", id=v), ADMIN)},
    "certificationRemove": {"input.userId": Case(("User",), lambda w, v: q(
        f"""mutation($id: ID!) {{ certificationRemove(input: {{userId: $id, code: "OLD"}}) {{
          {USER_PAYLOAD} }} }}""", id=v), ADMIN)},
    # --- invitations (admins) ---
    "invitationSend": {
        "input.programId": Case(("Program",), invitation_send('{"programId": "$v"}'), ADMIN),
        "input.partnerId": Case(("Partner",), invitation_send('{"partnerId": "$v"}'), ADMIN),
        "input.userIds[]": Case(("User",), invitation_send('{"userIds": ["$v"]}'), ADMIN),
        "input.locationIds[]": Case(("Location",), invitation_send('{"locationIds": ["$v"]}'), ADMIN),
    },
    # --- the partner's steps ---
    "applicationStart": {"input.applicationId": Case(("Application",), app_step("applicationStart"),
                                                     PARTNER, S.IN_PROGRESS)},
    "jobAllocationsSave": {
        "input.applicationId": Case(("Application",), lambda w, v: q(
            f"""mutation($id: ID!) {{ jobAllocationsSave(input: {{applicationId: $id, allocations: []}}) {{
              {APP_PAYLOAD} }} }}""", id=v), PARTNER),
        "input.allocations[].userId": Case(("User",), lambda w, v: q(
            f"""mutation($app: ID!, $id: ID!) {{ jobAllocationsSave(input: {{applicationId: $app,
              allocations: [{{jobRoleCode: "ENGINEER", userId: $id}}]}}) {{
              application {{ jobAllocations {{ user {{ id username }} }} }} {ERRORS} }} }}""",
            app=w.gid("china_app"), id=v), PARTNER),
    },
    "termsAccept": {"input.applicationId": Case(("Application",), app_step("termsAccept", args=', version: "1"'),
                                                PARTNER)},
    "termsDecline": {"input.applicationId": Case(("Application",), app_step(
        "termsDecline", f"message application {{ id status }} {ERRORS}"), PARTNER)},
    "documentUpload": {"input.applicationId": Case(("Application",), lambda w, v: Call(
        UPLOAD, {"id": v}, {"variables.file": ("nda.pdf", PDF, "application/pdf")}), PARTNER, S.SUBMITTED)},
    "applicationSubmit": {"input.applicationId": Case(("Application",), app_step("applicationSubmit"), PARTNER)},
    "applicationWithdraw": {"input.applicationId": Case(("Application",), app_step(
        "applicationWithdraw", args=', reason: "Not now."'), PARTNER, S.SUBMITTED)},
    # --- review and the outbox (admins) ---
    "documentReview": {"input.documentId": Case(("Document",), lambda w, v: q(
        f"""mutation($id: ID!) {{ documentReview(input: {{documentId: $id, decision: REJECTED,
          comment: "It is not signed."}}) {{ document {{ id status }} {ERRORS} }} }}""", id=v),
        ADMIN, S.SUBMITTED)},
    "applicationDecide": {"input.applicationId": Case(("Application",), lambda w, v: q(
        f"""mutation($id: ID!) {{ applicationDecide(input: {{applicationId: $id, decision: CHANGES_REQUESTED,
          comment: "Add an engineer."}}) {{ {APP_PAYLOAD} }} }}""", id=v), ADMIN, S.SUBMITTED)},
    "emailRetry": {"input.emailId": Case(("EmailMessage",), lambda w, v: q(
        f"mutation($id: ID!) {{ emailRetry(input: {{emailId: $id}}) {{ email {{ id status }} {ERRORS} }} }}",
        id=v), ADMIN)},
}

# An admin sees everything, yet some ids are "not found" for the admin too, for a reason of
# the operation rather than of visibility: (field, path, kind) -> why.
ADMIN_NOT_FOUND = {
    ("invitationSend", "input.userIds[]", "foreign"): "Ole is not a person of Equant",
    ("invitationSend", "input.userIds[]", "admin_user"): "an admin is not a person of Equant",
    ("invitationSend", "input.locationIds[]", "foreign"): "Oslo is not a location of Equant",
}
# Ids an admin may see whose operation still says no, for a reason of its own (a user error
# other than NOT_FOUND): (field, path, kind) -> why. Every other call that finds its object
# must succeed: no user error at all.
ADMIN_REFUSED = {
    ("userCreate", "input.locationIds[]", "foreign"): "INVALID: Oslo belongs to another partner",
    ("userCreate", "input.staffLocationIds[]", "foreign"): "INVALID: Oslo belongs to another partner",
    ("userUpdate", "input.locationIds[]", "foreign"): "INVALID: Oslo is not a location of Mei's partner",
    ("userUpdate", "input.staffLocationIds[]", "foreign"): "INVALID: Oslo is not a location of Mei's partner",
    ("invitationSend", "input.partnerId", "foreign"): "NOT_FOUND userIds.0: Mei is not a person of Nordic",
}
# What a partner user may see of their own location's objects: everything but the admins' own.
PARTNER_SEES_OWN = {"User", "Partner", "Location", "Application", "Document", "Program"}
WRONG_TYPE = {"Location": "Partner"}  # an id of another type (default: Location) with the same pk
NONEXISTENT_PK = 999_999


def matrix_params() -> list[Any]:
    return [
        pytest.param(name, path, type_name, id=f"{name}:{path}:{type_name}")
        for name, paths in CASES.items()
        for path, case in paths.items()
        for type_name in case.types
    ]


def expectation(name: str, path: str, case: Case, role: str, kind: str, type_name: str) -> str:
    """"reference" (the nonexistent id), "forbidden", "hidden" (exactly as the reference) or "found"."""
    if (case.who, role) in ((ADMIN, "partner"), (PARTNER, "admin")):
        return "forbidden"
    if kind == "nonexistent":
        return "reference"
    if kind in ("garbage", "out_of_range", "wrong_type"):
        return "hidden"
    if role == "admin":
        return "hidden" if (name, path, kind) in ADMIN_NOT_FOUND else "found"
    return "found" if kind == "own" and type_name in PARTNER_SEES_OWN else "hidden"


# --- the tests ----------------------------------------------------------------------------

CALLS: Counter[tuple[str, str, str]] = Counter()  # (field, kind, role) -> calls


@pytest.fixture(scope="module", autouse=True)
def summary(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    yield
    if not CALLS:
        return
    roles = Counter()
    for (_, _, role), n in CALLS.items():
        roles[role] += n
    line = (f"access matrix: {sum(CALLS.values())} calls (field x id kind x role): "
            f"{len({f for f, _, _ in CALLS})} fields, {len({k for _, k, _ in CALLS})} id kinds, "
            + ", ".join(f"{n} as {role}" for role, n in sorted(roles.items())))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line(line)


def id_argument_paths(graphql_schema: GraphQLSchema) -> set[tuple[str, str]]:
    """(field, path) of every ID a Query field or a Mutation takes: directly, inside its
    input objects, or as list items ("[]")."""
    found: set[tuple[str, str]] = set()

    def walk(field_name: str, type_: Any, path: str, seen: frozenset[str]) -> None:
        while is_non_null_type(type_) or is_list_type(type_):
            if is_list_type(type_):
                path += "[]"
            type_ = type_.of_type
        if is_scalar_type(type_) and type_.name == "ID":
            found.add((field_name, path))
        elif is_input_object_type(type_) and type_.name not in seen:
            assert isinstance(type_, GraphQLInputObjectType)
            for name, input_field in type_.fields.items():
                walk(field_name, input_field.type, f"{path}.{name}", seen | {type_.name})

    for root in (graphql_schema.query_type, graphql_schema.mutation_type):
        assert root is not None
        for field_name, root_field in root.fields.items():
            for arg_name, arg in root_field.args.items():
                walk(field_name, arg.type, arg_name, frozenset())
    return found


def test_every_id_argument_has_a_case() -> None:
    in_schema = id_argument_paths(schema._schema)
    in_table = {(name, path) for name, paths in CASES.items() for path in paths}
    assert not in_schema - in_table, f"fields that take an ID but have no case: {sorted(in_schema - in_table)}"
    assert not in_table - in_schema, f"cases of fields that take no such ID: {sorted(in_table - in_schema)}"
    # and node is tried with an id of every type that implements Node
    node = schema._schema.get_type("Node")
    implementations = {t.name for t in schema._schema.get_implementations(node).objects}  # type: ignore[arg-type]
    assert implementations == set(CASES["node"]["id"].types)
    # every type named by a case has its objects in the world
    assert {t for paths in CASES.values() for case in paths.values() for t in case.types} <= set(NODE_TYPES)


@pytest.mark.parametrize(("name", "path", "type_name"), matrix_params())
async def test_access_matrix(client, app, settings, smtp, register_plugin, name, path, type_name):  # type: ignore[no-untyped-def]
    case = CASES[name][path]
    world = await build_world(client, app, settings, register_plugin)
    await set_status(world, case.status)
    hidden_ids = await hidden_from_li(world)
    objects = world.objects[type_name]
    pk = {k: ids.decode_any(v)[1] for k, v in objects.items()}  # type: ignore[index]
    values = {
        "nonexistent": ids.encode(type_name, NONEXISTENT_PK),
        "garbage": "garbage",
        "out_of_range": ids.encode(type_name, 2**31),  # well formed, past the 32-bit keys
        **({} if name == "node" else {"wrong_type": ids.encode(WRONG_TYPE.get(type_name, "Location"), pk["own"])}),
        **objects,
    }
    for role, caller in (("partner", world.li), ("admin", world.admin)):
        expected = {kind: expectation(name, path, case, role, kind, type_name) for kind in values}
        # the reference first, then what must look like it, then what may write
        order = sorted(values, key=lambda k: ["reference", "forbidden", "hidden", "found"].index(expected[k]))
        answers: dict[str, dict[str, Any]] = {}
        for kind in order:
            call = case.build(world, values[kind])
            before = await snapshot(settings) if expected[kind] != "found" else None
            answer = answers[kind] = await send(caller, call)
            CALLS[(name, kind, role)] += 1
            what = f"{name}({path}={kind} {type_name}) as {role}"
            if role == "partner":
                assert_no_leak(json.dumps(answer), hidden_ids, what)
            if before is not None:
                after = await snapshot(settings)
                assert not changes(before, after), f"{what} wrote: {changes(before, after)}"
            reference = answers[order[0]]
            if expected[kind] == "forbidden":
                assert error_codes(answer) == ["FORBIDDEN"], f"{what}: {answer}"
                assert answer == reference, f"{what}: {answer} != {reference}"
            elif expected[kind] == "reference":
                assert not error_codes(answer), f"{what}: {answer}"
                if call.query.lstrip().startswith("mutation"):
                    assert "NOT_FOUND" in user_error_codes(answer["json"]["data"]), f"{what}: {answer}"
            elif expected[kind] == "hidden":
                assert answer == reference, f"{what} is not answered as a nonexistent id: {answer} != {reference}"
            else:
                assert not error_codes(answer), f"{what}: {answer}"
                assert answer != reference, f"{what} is answered as a nonexistent id: {answer}"
                refused = user_error_codes(answer["json"]["data"])
                if (name, path, kind) in ADMIN_REFUSED and role == "admin":
                    assert refused, f"{what} was expected to be refused ({ADMIN_REFUSED[(name, path, kind)]}): {answer}"
                else:
                    assert refused == [], f"{what} did not do it: {answer}"


# --- nested paths -------------------------------------------------------------------------

ME_NESTED = """
query { me { locations { partner { locations { applications { documents { id } } } users { edges { node { username } } } } } } }"""

ME_EVERYTHING = """
query {
  me {
    id username
    partner { id name registered }
    locations {
      id name
      members { id username partner { id name } locations { id name } staffOf { id name } }
      staff { totalCount edges { node { id username } } }
      partner {
        id name
        locations {
          id name
          applications {
            id status
            location { id name }
            documents { id filename downloadUrl uploadedBy { id username staffOf { id name } } }
            jobAllocations { user { id username locations { id name } } }
            termsAcceptance { user { id username } }
            qualifiedStaff(jobRoleCode: "ENGINEER") { id username }
            events { kind actor { name role user { id username } } }
            emails { id subject }
          }
        }
        users { totalCount edges { node { id username partner { id name } locations { id name } staffOf { id name } } } }
      }
    }
  }
  applications { totalCount edges { node { id location { id name } } } }
  programs { id code }
}"""

EVENTS = """query($id: ID!) { application(id: $id) {
  events { kind actor { name role user { username } } }
  emails { id }
} }"""
REVIEW = f"""mutation($id: ID!) {{ documentReview(input: {{documentId: $id, decision: ACCEPTED}}) {{
  document {{ status }} {ERRORS} }} }}"""


async def test_nested_paths_show_li_only_china(client, app, settings, register_plugin):  # type: ignore[no-untyped-def]
    world = await build_world(client, app, settings, register_plugin)
    # an admin acts on China's application (an event whose actor li may not see)
    reviewed = await world.admin.data(REVIEW, {"id": world.gid("china_doc")})
    assert reviewed["documentReview"]["userErrors"] == []
    hidden_ids = await hidden_from_li(world)

    for query in (ME_NESTED, ME_EVERYTHING):
        answer = await send(world.li, Call(query, {}))
        assert not answer["json"].get("errors"), answer
        assert_no_leak(json.dumps(answer), hidden_ids, "me")
    everything = (await world.li.data(ME_EVERYTHING))["me"]
    [china] = everything["locations"]
    assert china["name"] == "Equant China"
    assert [loc["name"] for loc in china["partner"]["locations"]] == ["Equant China"]
    assert sorted(e["node"]["username"] for e in china["partner"]["users"]["edges"]) == ["li.wei", "mei.lin"]
    [application] = china["partner"]["locations"][0]["applications"]
    assert [d["id"] for d in application["documents"]] == [world.gid("china_doc")]

    # the admin's event: name and role, no user; the partner's own events: the user too
    events = (await world.li.data(EVENTS, {"id": world.gid("china_app")}))["application"]
    by_kind = {e["kind"]: e["actor"] for e in events["events"]}
    assert by_kind["DOCUMENT_REVIEWED"] == {"name": "Program Team", "role": "ADMIN", "user": None}
    assert by_kind["JOB_ALLOCATIONS_SAVED"] == {"name": "Mei Lin", "role": "PARTNER",
                                                "user": {"username": "mei.lin"}}
    # the emails are the admins' alone
    assert events["emails"] == []
    as_admin = (await world.admin.data(EVENTS, {"id": world.gid("china_app")}))["application"]
    assert world.gid("china_email") in [e["id"] for e in as_admin["emails"]]
    assert as_admin["events"][-1]["actor"]["user"] == {"username": "cisco.admin"}

    # an invitation, even of li's own location, is null for li, exactly as a nonexistent one
    node = "query($id: ID!) { node(id: $id) { id ... on Invitation { partner { name } } } }"
    own = await send(world.li, Call(node, {"id": world.gid("china_invitation")}))
    nothing = await send(world.li, Call(node, {"id": ids.encode("Invitation", NONEXISTENT_PK)}))
    assert own == nothing == {"status": 200, "json": {"data": {"node": None}}}
    seen = await world.admin.data(node, {"id": world.gid("china_invitation")})
    assert seen["node"] == {"id": world.gid("china_invitation"), "partner": {"name": "Equant"}}


# --- document links -----------------------------------------------------------------------

DOWNLOAD_URL = "query($id: ID!) { node(id: $id) { ... on Document { downloadUrl } } }"


async def test_download_links(client, app, settings, register_plugin):  # type: ignore[no-untyped-def]
    world = await build_world(client, app, settings, register_plugin)
    http = client.http

    def local(url: str) -> str:
        assert url.startswith(settings.public_url + "/documents/"), url
        return url.replace(settings.public_url, "")

    # a visible document's link downloads it, without an Authorization header
    url = (await world.li.data(DOWNLOAD_URL, {"id": world.gid("china_doc")}))["node"]["downloadUrl"]
    good = await http.get(local(url))
    assert good.status_code == 200 and good.content == PDF
    # so does Austria's, through an admin: the refusals below are not about a missing file
    other_url = (await world.admin.data(DOWNLOAD_URL, {"id": world.gid("austria_doc")}))["node"]["downloadUrl"]
    assert (await http.get(local(other_url))).content == PDF

    china_id, austria_id = world.rows["china_doc"].id, world.rows["austria_doc"].id
    signature = url.rsplit("signature=", 1)[1]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    ctx = Context(settings=settings, plugins=app.state.plugins)
    expired = documents.download_url(ctx, world.rows["china_doc"], now=time.time() - 3600)
    refused = {
        "tampered signature": local(url).replace(signature, flipped),
        "expired": local(expired),
        "another document, the first one's signature": local(url).replace(
            f"/documents/{china_id}?", f"/documents/{austria_id}?"),
        "a nonexistent document, the first one's signature": local(url).replace(
            f"/documents/{china_id}?", f"/documents/{NONEXISTENT_PK}?"),
        "no signature": f"/documents/{china_id}",
    }
    answers = {}
    for what, path in refused.items():
        assert path != local(url), what
        response = await http.get(path)
        answers[what] = (response.status_code, response.content, response.headers.get("content-type"))
    first = next(iter(answers.values()))
    assert first[0] == 404
    assert all(a == first for a in answers.values()), answers
    assert PDF not in first[1]

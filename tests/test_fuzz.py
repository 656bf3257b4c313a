"""Schema fuzzing: many random but valid operations against the real app and a seeded world.

hypothesis-graphql generates queries and mutations from the real schema
(``smbselect.schema.root.schema``); they are sent, as a partner user and as an admin, over
the in-process ASGI client to the real app on a seeded database: two partners with
locations, applications in most statuses, staff with certifications, documents,
invitations and queued emails. Every ``ID`` argument is drawn from the global ids of all
the seeded objects (every type) or from garbage (malformed, out of range, another type's,
unknown), and ``String`` arguments often from the seed's own codes, names, versions and
cursors (and NULs, over-long and forged values), so the operations reach real objects
rather than "not found" only. Every selection of a type with an ``id`` also selects it, so
every object a response reaches names itself.

About as many queries as mutations: half of each select one root field (every field as
likely as any other, whichever role may call it); the other half select several of the
fields the role may call (one FORBIDDEN non-null field would null the whole ``data``).

Every response must have:

- no HTTP 500, no exception out of the app, and a JSON body;
- no masked server error: no error with ``extensions.code`` INTERNAL_SERVER_ERROR or the
  message "Unexpected error." (a bug: an exception nobody turned into a user error);
- for the partner user (Mei, who acts for Equant China and Equant Shanghai only): no global
  id of an object she may not see (the other Equant location, the other partner, their
  applications, documents and people, admins, invitations, emails), nor one of their
  names, usernames, emails, filenames or comments. The forbidden set is computed from the
  seed before the first operation, by the contract's rules, not by the server's code.
  The admin's display name is not forbidden: events show who acted (``Actor.name``), an
  admin included, with ``Actor.user`` null.

Generation is derandomized, so a CI run is reproducible; the operations are generated
first (hypothesis, synchronously) and then sent in order (async), which is why a failure
is reported with its operation rather than shrunk. Mutations change the seed as they go
(the database is per test), the forbidden set stays the one computed before. When an
operation ends the role's own session (``logout``, ``sessionRevoke``, ``userUpdate`` with
``active: false``), the user is reactivated and given a fresh session before the next one.

The number of operations per role is ``SMBSELECT_FUZZ_EXAMPLES`` (default 200, about 15 s
per database for both roles). A longer run, e.g. before a release (some 5 minutes)::

    SMBSELECT_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py -s
    SMBSELECT_FUZZ_EXAMPLES=5000 SMBSELECT_TEST_DATABASE=postgres://postgres@127.0.0.1:5432/ \\
        pytest tests/test_fuzz.py -s

``SMBSELECT_FUZZ_LOG=/tmp/fuzz`` writes every operation and response to
``/tmp/fuzz.<role>.jsonl`` (an operation that breaks the run is the last line).

A summary line per role (with ``-s``) tells how many operations returned data, were
rejected by validation (e.g. the depth, alias and token limits), met an access error
(UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT, RATE_LIMITED) or returned user errors.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import graphql
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries

from smbselect import ids, testing
from smbselect.plugins import DocumentRequirementDef, JobRoleDef, ProgramDef, TermsDef, hookimpl
from smbselect.schema.root import schema as app_schema
from smbselect.testing import ADMIN_PASSWORD, PARTNER_PASSWORD

EXAMPLES = int(os.environ.get("SMBSELECT_FUZZ_EXAMPLES", "200"))
LOG = os.environ.get("SMBSELECT_FUZZ_LOG")  # a path prefix for JSON lines of every operation
UNEXPECTED = "Unexpected error."
ACCESS_CODES = {"UNAUTHENTICATED", "FORBIDDEN", "BAD_USER_INPUT", "RATE_LIMITED"}

# --- a second program, with a required document -----------------------------------------

FUZZ_PROGRAM = ProgramDef(
    code="FUZZ_DOCS",
    name="Fuzz Docs Program",
    description="A second program that requires a signed NDA.",
    job_roles=(JobRoleDef("ENGINEER", "Engineer", ("CSE", "CSA")),),
    max_roles_per_person=1,
    terms=TermsDef(version="7", text="Be nice to the fuzzer."),
    required_documents=(
        DocumentRequirementDef("NDA", "Signed NDA", "The NDA, signed, as a PDF.",
                               ("application/pdf",), 1_000_000),
    ),
)


class FuzzProgramPlugin:
    @hookimpl
    def smbselect_programs(self) -> list[ProgramDef]:
        return [FUZZ_PROGRAM]


# --- the seed ---------------------------------------------------------------------------

START = "mutation($id: ID!) { applicationStart(input: {applicationId: $id}) { userErrors { code } } }"
SAVE = """mutation($id: ID!, $a: [JobAllocationInput!]!) {
  jobAllocationsSave(input: {applicationId: $id, allocations: $a}) { userErrors { code } } }"""
ACCEPT = """mutation($id: ID!, $v: String!) {
  termsAccept(input: {applicationId: $id, version: $v}) { userErrors { code } } }"""
SUBMIT = "mutation($id: ID!) { applicationSubmit(input: {applicationId: $id}) { userErrors { code } } }"
WITHDRAW = """mutation($id: ID!) {
  applicationWithdraw(input: {applicationId: $id, reason: "Nordic withdraws"}) { userErrors { code } } }"""
DECIDE = """mutation($id: ID!) { applicationDecide(input: {applicationId: $id,
  decision: CHANGES_REQUESTED, comment: "Austria must name another engineer"}) { userErrors { code } } }"""


@dataclass
class Seed:
    all_ids: list[str]
    strings: list[str]
    partner_user_id: int
    admin_user_id: int
    forbidden_ids: set[str] = field(default_factory=set)
    forbidden_words: set[str] = field(default_factory=set)


async def _ok(client: testing.GraphQLClient, query: str, variables: dict[str, Any]) -> None:
    data = await client.data(query, variables)
    for payload in data.values():
        assert payload["userErrors"] == [], (query, variables, payload)


async def _document(application: Any, uploaded_by: Any, filename: str, status: str) -> Any:
    from smbselect.db.enums import DocumentStatus
    from smbselect.db.models import Document

    now = datetime.now(timezone.utc)
    return await Document.create(
        application=application, requirement_code="NDA", filename=filename,
        content_type="application/pdf", size=1234, sha256="0" * 64,
        storage_name=uuid.uuid4().hex, status=DocumentStatus(status), uploaded_at=now,
        uploaded_by=uploaded_by, reviewed_at=now if status != "PENDING" else None,
    )


async def seed_world(client: testing.GraphQLClient, world: dict[str, Any]) -> Seed:
    """The world of conftest plus a second program, a third Equant location (Shanghai, Mei's
    too), more certified staff, and applications in most statuses, partly through the API
    (so there are real events, terms acceptances, allocations and emails)."""
    from smbselect.db.enums import ApplicationStatus, Decision, EmailStatus
    from smbselect.db.models import (
        Application,
        Document,
        EmailMessage,
        Invitation,
        Location,
        LocationMember,
        LocationStaff,
        Partner,
        Program,
        User,
    )

    admin, li, mei, ole = world["admin"], world["li"], world["mei"], world["ole"]
    china, austria, oslo = world["china"], world["austria"], world["oslo"]
    shanghai = await testing.make_location(world["equant"], "Equant Shanghai", "CN")
    await LocationMember.create(location=shanghai, user=mei)
    zhou = await testing.make_user("zhou.yan", partner=world["equant"], staff_of=[china, shanghai],
                                   certifications={"CSA": None})
    lukas = await testing.make_user("lukas.gruber", partner=world["equant"], staff_of=[austria],
                                    certifications={"CSE": date.today() + timedelta(days=300)})
    await testing.make_user("expired.erik", partner=world["nordic"], staff_of=[oslo],
                            certifications={"CSE": date(2020, 1, 1)})
    await testing.make_user("inactive.ida", partner=world["equant"], staff_of=[austria],
                            certifications={"CSA": None}, active=False)

    li_client = await client.as_user("li.wei", PARTNER_PASSWORD)
    ole_client = await client.as_user("ole.hansen", PARTNER_PASSWORD)
    admin_client = await client.as_user("admin", ADMIN_PASSWORD)
    gid = lambda row: ids.encode(type(row).__name__, row.id)  # noqa: E731

    async def through_submit(location: Any, staff: list[Any]) -> Any:
        row = await testing.make_application("SMB_SELECT", location, invited_by=admin,
                                             invited_users=[li])
        await _ok(li_client, START, {"id": gid(row)})
        roles = ["ACCOUNT_MANAGER", "SALES_ENGINEER", "FIELD_ENGINEER"]
        allocations = [{"jobRoleCode": code, "userId": gid(person)}
                       for code, person in zip(roles, staff, strict=True)]
        await _ok(li_client, SAVE, {"id": gid(row), "a": allocations})
        await _ok(li_client, ACCEPT, {"id": gid(row), "v": "2026-01"})
        await _ok(li_client, SUBMIT, {"id": gid(row)})
        return row

    # SMB_SELECT: China SUBMITTED, Austria CHANGES_REQUESTED, Shanghai and Oslo IN_PROGRESS
    await through_submit(china, [world["chen"], world["chen"], zhou])
    austria_app = await through_submit(austria, [world["anna"], world["anna"], lukas])
    await _ok(admin_client, DECIDE, {"id": gid(austria_app)})
    await testing.make_application("SMB_SELECT", shanghai, invited_by=admin, invited_users=[mei])
    await testing.make_application("SMB_SELECT", oslo, invited_by=admin, invited_users=[ole])

    # FUZZ_DOCS: China NOT_SUBMITTED with a pending NDA, Austria APPROVED with an accepted
    # one, Oslo WITHDRAWN with a rejected one, Shanghai REJECTED
    now = datetime.now(timezone.utc)
    china_docs = await testing.make_application("FUZZ_DOCS", china, invited_by=admin,
                                                invited_users=[li, mei])
    await _ok(li_client, START, {"id": gid(china_docs)})
    await _document(china_docs, li, "china-nda.pdf", "PENDING")
    austria_docs = await testing.make_application("FUZZ_DOCS", austria, status="APPROVED")
    await Application.filter(id=austria_docs.id).update(
        submitted_at=now - timedelta(days=9), review_due_on=(now - timedelta(days=2)).date(),
        decided_at=now - timedelta(days=1), last_decision=Decision.APPROVED)
    await _document(austria_docs, li, "austria-secret-nda.pdf", "ACCEPTED")
    oslo_docs = await testing.make_application("FUZZ_DOCS", oslo, invited_by=admin,
                                               invited_users=[ole])
    await _ok(ole_client, START, {"id": gid(oslo_docs)})
    await _document(oslo_docs, ole, "nordic-oslo-nda.pdf", "REJECTED")
    await _ok(ole_client, WITHDRAW, {"id": gid(oslo_docs)})
    shanghai_docs = await testing.make_application("FUZZ_DOCS", shanghai, status="REJECTED")
    await Application.filter(id=shanghai_docs.id).update(
        submitted_at=now - timedelta(days=20), review_due_on=(now - timedelta(days=10)).date(),
        decided_at=now - timedelta(days=5), last_decision=Decision.REJECTED,
        decision_comment="Shanghai has no NDA")
    assert {a.status for a in await Application.all()} >= {
        ApplicationStatus.IN_PROGRESS, ApplicationStatus.NOT_SUBMITTED, ApplicationStatus.SUBMITTED,
        ApplicationStatus.CHANGES_REQUESTED, ApplicationStatus.APPROVED, ApplicationStatus.REJECTED,
        ApplicationStatus.WITHDRAWN}
    first_email = await EmailMessage.all().order_by("id").first()
    assert first_email is not None
    await EmailMessage.filter(id=first_email.id).update(status=EmailStatus.FAILED, attempts=5,
                                                        last_error="550 no such user")

    # every global id of the seed, and the ones the partner user (Mei) may not see
    models = [User, Partner, Location, Application, Document, EmailMessage, Invitation, Program]
    all_rows = {model.__name__: await model.all() for model in models}
    all_ids = [ids.encode(name, row.id) for name, rows in all_rows.items() for row in rows]

    mine = set(await LocationMember.filter(user_id=mei.id).values_list("location_id", flat=True))
    people = {mei.id}
    people |= set(await LocationMember.filter(location_id__in=mine).values_list("user_id", flat=True))
    people |= set(await LocationStaff.filter(location_id__in=mine).values_list("user_id", flat=True))
    visible_apps = {a.id for a in all_rows["Application"] if a.location_id in mine}
    visible = {
        "User": {u.id for u in all_rows["User"] if u.id in people and u.partner_id == mei.partner_id},
        "Partner": {mei.partner_id},
        "Location": mine,
        "Application": visible_apps,
        "Document": {d.id for d in all_rows["Document"] if d.application_id in visible_apps},
        "EmailMessage": set(),
        "Invitation": set(),
        "Program": {p.id for p in all_rows["Program"]},
    }
    seed = Seed(all_ids=all_ids, strings=[], partner_user_id=mei.id, admin_user_id=admin.id)
    for name, rows in all_rows.items():
        for row in rows:
            if row.id in visible[name]:
                continue
            seed.forbidden_ids.add(ids.encode(name, row.id))
            if isinstance(row, User):
                seed.forbidden_words |= {row.username, row.email}
                if row.role.value != "ADMIN":  # an admin's name is shown as Actor.name
                    seed.forbidden_words.add(row.name)
            elif isinstance(row, (Partner, Location)):
                seed.forbidden_words.add(row.name)
            elif isinstance(row, Document):
                seed.forbidden_words.add(row.filename)
            elif isinstance(row, Application) and row.decision_comment:
                seed.forbidden_words.add(row.decision_comment)
    # Austria's and Oslo's comments (they are in events, not only on the row)
    seed.forbidden_words |= {"Austria must name another engineer", "Nordic withdraws"}

    # strings worth trying where a String is asked: codes, versions, names, cursors
    names = [u.username for u in all_rows["User"]] + [u.email for u in all_rows["User"]]
    names += [row.name for row in all_rows["Partner"] + all_rows["Location"]]

    def cursor(values: list[Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")

    seed.strings = sorted(set(names)) + [
        "ACCOUNT_MANAGER", "SALES_ENGINEER", "FIELD_ENGINEER", "ENGINEER", "NDA", "CSE", "CSA",
        "2026-01", "7", "AT", "CN", "NO", "XX", "at", "equant", "NORDIC", "türk", "%", "_", "\\",
        "x" * 300, "y" * 300 + "@example.com", " ", "", "\x00", "a\x00b", "\x07", "ß", "İ",
        cursor([1]), cursor(["Equant", 1]), cursor([None, 1]), cursor(["2026-01-01", 2]),
        cursor(["2026-01-01T00:00:00+00:00", 3]), cursor(["not a date", 1]), cursor([2**40, 1]),
        cursor([-1, 1]), cursor(["a", 2**31]), cursor([1.5, 1]), cursor([True, 1]), cursor([[], 1]),
        cursor(["a\x00", 1]), cursor({"a": 1}), "bm9wZQ", "%%%", "e30",
    ]
    return seed


# --- strategies ---------------------------------------------------------------------------


def _garbage_ids() -> list[str]:
    return [
        "", " ", "bm9wZQ", "VXNlcjow", "VXNlcjotMQ", ids.encode("User", 2**31),
        ids.encode("Application", 2**31 - 1), ids.encode("Nope", 1), ids.encode("Node", 1),
        base64.urlsafe_b64encode(b"User:1\x00").decode(),
        base64.urlsafe_b64encode("User:١".encode()).decode(),
        "VXNlcjox=", "VXNlcjox==", "VXNl cjox", "A" * 81, "Ü", "\x00", "null", "User:1", "1",
    ]


def uniform(values: list[str]) -> st.SearchStrategy[str]:
    """Any of ``values`` alike. ``sampled_from`` leans to the first ones (hypothesis
    prefers "simple" choices), which would aim most operations at one object."""
    return st.randoms(use_true_random=False).map(lambda rnd: rnd.choice(values))


def custom_scalars(seed: Seed) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    # the ids the partner user may not see, and those she may, each as likely as the other
    hidden = sorted(seed.forbidden_ids)
    shown = sorted(set(seed.all_ids) - seed.forbidden_ids)
    real = st.one_of(uniform(hidden), uniform(shown)).map(nodes.String)
    garbage = uniform(_garbage_ids()).map(nodes.String)
    int_ids = st.sampled_from([0, -1, 1, 2, 2**31 - 1]).map(nodes.Int)
    known = uniform(seed.strings).map(nodes.String)
    text = st.text(max_size=40).map(nodes.String)
    dates = st.dates().map(lambda d: nodes.String(d.isoformat()))
    bad_dates = st.sampled_from(["", "2026-02-30", "tomorrow", "2026-01-01T00:00:00", "99999-01-01"])
    return {
        # real objects most of the time, so the operations reach them
        "ID": st.one_of(real, real, real, garbage, int_ids, text),
        "String": st.one_of(known, text),
        "Date": st.one_of(dates, bad_dates.map(nodes.String)),
        # a file can only come in a multipart request: a literal is the client's mistake
        "Upload": st.one_of(text, known, st.just(graphql.IntValueNode(value="1"))),
    }


def with_ids(schema: graphql.GraphQLSchema) -> Any:
    """A ``print_ast`` that first selects ``id`` in every selection set of a type that has one
    (the generator picks fields at random and seldom ``id``): every object a response
    reaches then names itself, so an object the partner may not see cannot pass unnoticed
    for want of a field that identifies it."""
    type_info = graphql.TypeInfo(schema)

    class AddIds(graphql.Visitor):
        def enter_selection_set(self, node: graphql.SelectionSetNode, *_: Any) -> Any:
            parent = type_info.get_parent_type()
            if not isinstance(parent, (graphql.GraphQLObjectType, graphql.GraphQLInterfaceType)):
                return None
            if "id" not in parent.fields:
                return None
            keys = {(s.alias or s.name).value for s in node.selections
                    if isinstance(s, graphql.FieldNode)}
            if "id" in keys:
                return None
            field = graphql.FieldNode(name=graphql.NameNode(value="id"), arguments=(), directives=())
            return graphql.SelectionSetNode(selections=(*node.selections, field))

    def print_ast(document: graphql.DocumentNode) -> str:
        visitor = graphql.TypeInfoVisitor(type_info, AddIds())
        return graphql.print_ast(graphql.visit(document, visitor))

    return print_ast


# Root fields that answer FORBIDDEN to the other role. Their payloads are non-null, so one of
# them in an operation of several fields nulls the whole ``data``: operations of several
# fields leave them out (single-field operations still call every field, as either role).
ADMIN_ONLY = {
    "partners", "emails", "decisionEmailPreview", "sessionRevoke", "partnerCreate",
    "partnerUpdate", "locationCreate", "locationUpdate", "userCreate", "userUpdate",
    "certificationCreate", "certificationRemove", "emailRetry", "invitationSend",
    "documentReview", "applicationDecide",
}
PARTNER_ONLY = {
    "applicationStart", "jobAllocationsSave", "termsAccept", "termsDecline",
    "applicationSubmit", "applicationWithdraw", "documentUpload",
}


def operations_strategy(sdl: str, scalars: dict[str, st.SearchStrategy[graphql.ValueNode]],
                        role: str) -> st.SearchStrategy[str]:
    """As many queries as mutations. Half of each select one root field, every field as
    likely as any other of its root (so all the mutations are reached); the other half
    select several of those the role may call."""
    parsed = graphql.build_schema(sdl)
    assert parsed.query_type is not None and parsed.mutation_type is not None
    options: dict[str, Any] = {"custom_scalars": scalars, "print_ast": with_ids(parsed)}
    forbidden = PARTNER_ONLY if role == "admin" else ADMIN_ONLY

    def one_of_each(make: Any, root: graphql.GraphQLObjectType) -> st.SearchStrategy[str]:
        each = [make(parsed, fields=[name], **options) for name in root.fields]
        return st.sampled_from(each).flatmap(lambda strategy: strategy)

    def several(make: Any, root: graphql.GraphQLObjectType) -> st.SearchStrategy[str]:
        return make(parsed, fields=[name for name in root.fields if name not in forbidden], **options)

    return st.sampled_from([
        one_of_each(queries, parsed.query_type), several(queries, parsed.query_type),
        one_of_each(mutations, parsed.mutation_type), several(mutations, parsed.mutation_type),
    ]).flatmap(lambda strategy: strategy)


def generate(strategy: st.SearchStrategy[str], count: int) -> list[str]:
    """``count`` different operations drawn from ``strategy``, reproducibly (derandomize)."""
    seen: dict[str, None] = {}

    @settings(max_examples=count + count // 10 + 10, deadline=None, derandomize=True,
              database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(operation: str) -> None:
        seen.setdefault(operation)

    collect()
    return list(seen)[:count]


# --- checks -------------------------------------------------------------------------------


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def leaks(body: dict[str, Any], operation: str, seed: Seed, sent: set[str]) -> list[str]:
    """Forbidden ids or words in a partner's response: any forbidden id as a data value, or
    an id or word as a whole token in any string. Not a leak: a token the operation itself
    contains (an echo of the input), nor a word the partner sent in an earlier operation
    (``sent``: she may have written it into a comment or a reason herself)."""
    found = [s for s in _strings(body.get("data"))
             if s in seed.forbidden_ids or (s in seed.forbidden_words and s not in sent)]
    tokens = sorted((t for t in seed.forbidden_ids | seed.forbidden_words - sent
                     if t not in operation and len(t) >= 6), key=len, reverse=True)
    if tokens:
        pattern = re.compile(r"(?<![\w=-])(?:" + "|".join(map(re.escape, tokens)) + r")(?![\w=-])")
        for text in _strings(body):
            found += pattern.findall(text)
    return sorted(set(found))


def _has_user_errors(value: Any) -> bool:
    if isinstance(value, dict):
        return bool(value.get("userErrors")) or any(_has_user_errors(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_user_errors(v) for v in value)
    return False


def classify(body: dict[str, Any]) -> str:
    errors = body.get("errors") or []
    if errors and body.get("data") is None and all(not e.get("path") for e in errors):
        return "validation"
    if any((e.get("extensions") or {}).get("code") in ACCESS_CODES for e in errors):
        return "access errors"
    if errors:
        return "other errors"
    if _has_user_errors(body.get("data")):
        return "user errors"
    return "data"


# --- the test -------------------------------------------------------------------------------


async def _fresh_token(user_id: int) -> str:
    """A new session for the user, active again (an operation may have ended both)."""
    from smbselect.db.models import Session, User
    from smbselect.security import new_token, token_hash

    await User.filter(id=user_id).update(active=True)
    token = new_token()
    await Session.create(user_id=user_id, token_hash=token_hash(token),
                         expires_at=datetime.now(timezone.utc) + timedelta(days=1))
    return token


@pytest.mark.parametrize("role", ["partner", "admin"])
async def test_random_operations_never_fail_or_leak(client, world, register_plugin, role):
    await register_plugin(FuzzProgramPlugin(), "test-fuzz-program")
    seed = await seed_world(client, world)
    user_id = seed.partner_user_id if role == "partner" else seed.admin_user_id
    sdl = app_schema.as_str()
    scalars = custom_scalars(seed)
    operations = generate(operations_strategy(sdl, scalars, role), EXAMPLES)
    assert len(operations) >= EXAMPLES * 0.9, len(operations)

    from smbselect.resolvers.auth import authenticate

    token = await _fresh_token(user_id)
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    restored = 0
    sent: set[str] = set()  # forbidden words the partner herself has sent so far
    log = open(f"{LOG}.{role}.jsonl", "w") if LOG else None  # noqa: SIM115
    started = time.monotonic()
    for operation in operations:
        if log:  # before sending: an operation that breaks the test is the last line
            log.write(json.dumps({"operation": operation}) + "\n")
            log.flush()
        try:
            response = await client.post(operation, token=token)
        except (Exception, asyncio.CancelledError) as exc:  # a real server would answer 500
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # the test itself is being cancelled
                raise
            failures.append(f"the app raised {exc!r}\n{operation}")
            continue
        if log:
            log.write(json.dumps({"status": response.status_code, "response": response.text}) + "\n")
        if response.status_code >= 500:
            failures.append(f"HTTP {response.status_code}: {response.text[:500]}\n{operation}")
            continue
        try:
            body = response.json()
        except ValueError:
            failures.append(f"not JSON ({response.status_code}): {response.text[:300]}\n{operation}")
            continue
        outcomes[classify(body)] += 1
        for error in body.get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            if error.get("message") == UNEXPECTED or code == "INTERNAL_SERVER_ERROR":
                failures.append(f"masked server error {error}\n{operation}")
        if role == "partner" and (found := leaks(body, operation, seed, sent)):
            failures.append(f"partner sees {found}: {json.dumps(body)[:1500]}\n{operation}")
        sent |= {word for word in seed.forbidden_words if word in operation}
        if await authenticate(token) is None:  # logout, sessionRevoke, userUpdate(active: false)
            token = await _fresh_token(user_id)
            restored += 1
    elapsed = time.monotonic() - started
    if log:
        log.close()
    mutation_count = sum(op.lstrip().startswith("mutation") for op in operations)
    print(
        f"\nfuzz {role}: {len(operations)} operations ({len(operations) - mutation_count} queries, "
        f"{mutation_count} mutations) in {elapsed:.1f}s: "
        + ", ".join(f"{outcomes[k]} {k}" for k in
                    ("data", "validation", "access errors", "user errors", "other errors"))
        + f"; session restored {restored} times; {len(failures)} failures"
    )
    assert not failures, "\n\n".join(failures[:5]) + f"\n\n({len(failures)} failures in all)"

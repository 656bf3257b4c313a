"""The operations the benchmark drives: one GraphQL document each, the variables of every
request (taken from the data set's manifest), and the baseline's route for the same thing.

smbselect gets ``POST /graphql`` with ``{"query", "variables"}``; the baseline gets
``POST /op/<key>`` with the variables alone as the body. Both get the same bearer token and
answer the same JSON (``{"data": ...}``), which :func:`bench.run.check_same_json` verifies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from smbselect import ids

from bench.generate import Manifest

ME = "query { me { id username email name role active } }"

PROGRAMS = """query { programs { id code name description maxRolesPerPerson reviewDays supportEmail active
  jobRoles { code name acceptedCertifications headcount }
  requiredDocuments { code name description acceptedContentTypes maxSizeBytes }
  terms { version format locale sha256 } } }"""

IN_PROGRESS = """query($id: ID!) { node(id: $id) { ... on Location { id name country
  applications { id status round invitedAt invitationExpiresAt submittedAt reviewDueOn decidedAt
    lastDecision program { id code name } } } } }"""

QUALIFIED_STAFF = """query($id: ID!) { application(id: $id) { id jobRoles { code name }
  am: qualifiedStaff(jobRoleCode: "ACCOUNT_MANAGER") { id name }
  se: qualifiedStaff(jobRoleCode: "SALES_ENGINEER") { id name }
  fe: qualifiedStaff(jobRoleCode: "FIELD_ENGINEER") { id name } } }"""

QUEUE_STATUSES = ["SUBMITTED", "CHANGES_REQUESTED"]

QUEUE = """query($first: Int!, $search: String) {
  applications(first: $first, filter: {status: [SUBMITTED, CHANGES_REQUESTED], search: $search},
               orderBy: {field: REVIEW_DUE_ON}) {
    edges { cursor node { id status submittedAt reviewDueOn
      program { id code name }
      location { id name country partner { id name } }
      jobAllocations { role { code name } user { id username name } }
      submitBlockers { code message jobRoleCode documentCode } } }
    pageInfo { hasNextPage endCursor } } }"""

ONE = """query($id: ID!) { application(id: $id) {
  id status round invitedAt invitationExpiresAt submittedAt reviewDueOn decidedAt lastDecision decisionComment
  program { id code name active }
  location { id name country partner { id name registered } }
  jobRoles { code name acceptedCertifications headcount }
  jobAllocations { role { code name } user { id username name email certifications { code expiresOn } } }
  missingJobRoles { code name }
  termsAcceptance { version sha256 acceptedAt user { id username } }
  requiredDocuments { code name }
  missingDocuments { code }
  documents { id requirementCode filename contentType size status reviewComment uploadedAt reviewedAt
    superseded uploadedBy { id name } }
  canSubmit
  submitBlockers { code message jobRoleCode documentCode }
  events { occurredAt kind fromStatus toStatus comment actor { name role user { id } } }
  emails { id to subject status attempts sentAt } } }"""

SAVE = """mutation($input: JobAllocationsSaveInput!) { jobAllocationsSave(input: $input) {
  application { id status jobAllocations { role { code } user { id name } } missingJobRoles { code }
    canSubmit submitBlockers { code message } }
  userErrors { code field message } } }"""

SUBMIT = """mutation($input: ApplicationSubmitInput!) { applicationSubmit(input: $input) {
  application { id status submittedAt reviewDueOn } userErrors { code field message } } }"""

LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
  token expiresAt user { id username name role } userErrors { code field message } } }"""


@dataclass(frozen=True)
class Request:
    token: str | None
    variables: dict[str, Any]


@dataclass(frozen=True)
class Operation:
    key: str
    label: str
    query: str
    mutation: bool = False
    consumes: bool = False  # each request uses up its application (submit)
    comparable: bool = True  # same JSON from both (login answers fresh tokens)

    def graphql_body(self, req: Request) -> bytes:
        return json.dumps({"query": self.query, "variables": req.variables}).encode()

    def baseline_body(self, req: Request) -> bytes:
        return json.dumps(req.variables).encode()

    @property
    def baseline_path(self) -> str:
        return f"/op/{self.key}"


OPERATIONS: tuple[Operation, ...] = (
    Operation("me", "me", ME),
    Operation("programs", "programs", PROGRAMS),
    Operation("in_progress", "location In-Progress table", IN_PROGRESS),
    Operation("qualified_staff", "qualifiedStaff (3 roles)", QUALIFIED_STAFF),
    Operation("queue", "approval queue, 50", QUEUE),
    Operation("search", "queue + search, 50", QUEUE),
    Operation("one", "one application, everything", ONE),
    Operation("save", "jobAllocationsSave", SAVE, mutation=True),
    Operation("submit", "applicationSubmit", SUBMIT, mutation=True, consumes=True),
    Operation("login", "login", LOGIN, mutation=True, comparable=False),
)
BY_KEY = {op.key: op for op in OPERATIONS}


def gid(type_name: str, pk: int) -> str:
    return ids.encode(type_name, pk)


def requests_for(op: Operation, m: Manifest, *, page: int = 50) -> list[Request]:
    """Every request of ``op`` the manifest allows, in the order they are sent."""
    admin = m.admin_token
    if op.key in ("me", "programs"):
        return [Request(token, {}) for _uid, _name, _lid, token in m.members]
    if op.key == "in_progress":
        return [Request(token, {"id": gid("Location", lid)}) for _uid, _name, lid, token in m.members]
    if op.key == "qualified_staff":
        return [Request(token, {"id": gid("Application", aid)}) for token, aid in m.qualified_staff]
    if op.key == "queue":
        return [Request(admin, {"first": page, "search": None})]
    if op.key == "search":
        return [Request(admin, {"first": page, "search": m.search})]
    if op.key == "one":
        return [Request(admin, {"id": gid("Application", aid)}) for aid in m.one]
    if op.key == "save":
        return [
            Request(token, {"input": {"applicationId": gid("Application", aid), "allocations": [
                {"jobRoleCode": role, "userId": gid("User", uid)} for role, uid in allocations
            ]}})
            for token, aid, allocations in m.save
        ]
    if op.key == "submit":
        return [Request(token, {"input": {"applicationId": gid("Application", aid)}}) for token, aid in m.submit]
    if op.key == "login":
        return [Request(None, {"input": {"username": name, "password": m.password}})
                for _uid, name, _lid, _token in m.members]
    raise KeyError(op.key)


def ok(op: Operation, body: bytes) -> bool:
    """Whether an answer is a success (no GraphQL error, no userErrors)."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    if data.get("errors") or not isinstance(data.get("data"), dict):
        return False
    if op.mutation:
        payload = next(iter(data["data"].values()))
        return isinstance(payload, dict) and not payload.get("userErrors")
    return True

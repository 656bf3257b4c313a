"""The whole process over real HTTP: `smbselect serve` under uvicorn on a loopback port, a
real SMTP server, two partners and an admin, as they would use it.

Walks: invitation (one user with a first password), location and program, allocations,
terms, a document, submission, CHANGES_REQUESTED and resubmission, approval; a second
partner's rejection and its reopening by a new invitation. Every status, audit event and
email (recipients, subject, link, comment) is checked on the way.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx

from smbselect import testing
from smbselect.db.enums import UserRole

PLUGIN_DIR = Path(__file__).parent / "plugins"

LOGIN = "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { token userErrors { code } } }"
FIND = """query($s: String!) { programs { id code }
  partners(search: $s) { edges { node { id name users(first: 50) { edges { node { id username } } } } } } }"""
SEND = """mutation($p: ID!, $partner: ID!, $users: [ID!]!) { invitationSend(input: {programId: $p, partnerId: $partner, userIds: $users}) {
  invitation { id applications { id status location { name } } } userErrors { code field message } } }"""
PREVIEW = "query($t: String!) { invitationPreview(token: $t) { programName partnerName expired needsPassword supportEmail } }"
ACCEPT_INVITATION = """mutation($t: String!, $p: String!) { invitationAccept(input: {token: $t, password: $p}) {
  token applications { id status location { name } } userErrors { code field message } } }"""
TABLE = "{ me { locations { id name applications { id status program { code } } } } }"
START = "mutation($id: ID!) { applicationStart(input: {applicationId: $id}) { application { status } userErrors { code } } }"
STAFF = """query($id: ID!) { application(id: $id) { program { terms { version } }
  am: qualifiedStaff(jobRoleCode: "ACCOUNT_MANAGER") { id username }
  se: qualifiedStaff(jobRoleCode: "SALES_ENGINEER") { id username } } }"""
SAVE = """mutation($id: ID!, $a: [JobAllocationInput!]!) { jobAllocationsSave(input: {applicationId: $id, allocations: $a}) {
  application { missingJobRoles { code } } userErrors { code field } } }"""
TERMS = "mutation($id: ID!, $v: String!) { termsAccept(input: {applicationId: $id, version: $v}) { userErrors { code } } }"
DECLINE = "mutation($id: ID!) { termsDecline(input: {applicationId: $id}) { message userErrors { code } } }"
SUBMIT = """mutation($id: ID!) { applicationSubmit(input: {applicationId: $id}) {
  application { status reviewDueOn } userErrors { code message } } }"""
UPLOAD = """mutation($id: ID!, $file: Upload!) { documentUpload(input: {applicationId: $id, requirementCode: "PARTNER_AGREEMENT", file: $file}) {
  document { id status downloadUrl } userErrors { code field message } } }"""
REVIEW_DOC = """mutation($id: ID!) { documentReview(input: {documentId: $id, decision: ACCEPTED}) { document { status } userErrors { code } } }"""
PREVIEW_DECISION = """query($id: ID!, $d: Decision!, $c: String) { decisionEmailPreview(applicationId: $id, decision: $d, comment: $c) {
  to subject body } }"""
DECIDE = """mutation($id: ID!, $d: Decision!, $c: String) { applicationDecide(input: {applicationId: $id, decision: $d, comment: $c}) {
  application { status lastDecision decisionComment } userErrors { code message } } }"""
DETAIL = """query($id: ID!) { application(id: $id) { status round submittedAt reviewDueOn decisionComment
  termsAcceptance { version user { username } } documents { status superseded }
  events { kind fromStatus toStatus comment actor { role } } } }"""


class Http:
    """A GraphQL client speaking real HTTP to the server."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def data(self, query: str, variables: dict | None = None) -> dict:
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(f"{self.base}/graphql", json={"query": query, "variables": variables or {}},
                                       headers=self.headers())
        assert response.status_code == 200, response.text
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def upload(self, query: str, variables: dict, filename: str, content: bytes) -> dict:
        import json

        operations = json.dumps({"query": query, "variables": {**variables, "file": None}})
        files = {"0": (filename, content, "application/pdf")}
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(
                f"{self.base}/graphql",
                data={"operations": operations, "map": json.dumps({"0": ["variables.file"]})},
                files=files, headers={**self.headers(), "Apollo-Require-Preflight": "true"},
            )
        assert response.status_code == 200, response.text
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def login(self, username: str, password: str) -> Http:
        token = (await self.data(LOGIN, {"u": username, "p": password}))["login"]["token"]
        assert token
        return Http(self.base, token)


def token_in(mail: testing.ReceivedMail) -> str:
    match = re.search(r"http://app\.test/invitations/([A-Za-z0-9_-]+)", mail.text)
    assert match, mail.text
    return match.group(1)


async def drained(smtp: testing.SmtpCatcher, count: int) -> list[testing.ReceivedMail]:
    await smtp.wait_for(count, timeout=20)
    assert len(smtp.messages) == count, [(m.rcpt_tos, m.subject) for m in smtp.messages]
    return smtp.messages


async def test_the_whole_process_over_http(db, smtp, tmp_path):
    # --- given: an admin, two registered partners and their staff (the registry) ---
    await testing.make_user("ada", role=UserRole.ADMIN, password=testing.ADMIN_PASSWORD,
                            email_address="ada@cisco.example")
    equant = await testing.make_partner("Equant")
    china = await testing.make_location(equant, "Equant China", "CN")
    await testing.make_user("li.wei", partner=equant, password=testing.PARTNER_PASSWORD, acts_for=[china],
                            email_address="li.wei@equant.example")
    await testing.make_user("chen.jing", partner=equant, staff_of=[china], certifications={"CSE": None})
    nordic = await testing.make_partner("Nordic Networks")
    oslo = await testing.make_location(nordic, "Nordic Oslo", "NO")
    # Ole has no password yet: he chooses one through his invitation link
    await testing.make_user("ole.hansen", partner=nordic, acts_for=[oslo], staff_of=[oslo],
                            certifications={"CSE": None}, email_address="ole@nordic.example")
    await testing.make_user("nora.berg", partner=nordic, password=testing.PARTNER_PASSWORD,
                            staff_of=[oslo], certifications={"CSA": None})

    env = {
        "SMBSELECT_DATABASE_URL": db,
        "SMBSELECT_SMTP_HOST": smtp.host,
        "SMBSELECT_SMTP_PORT": str(smtp.port),
        "SMBSELECT_APP_URL": "http://app.test",
        "SMBSELECT_SECRET_KEY": "e2e-secret",
        "SMBSELECT_DATA_DIR": str(tmp_path / "data"),
        "SMBSELECT_SUPPORT_EMAIL": "support@smbselect.test",
        "SMBSELECT_MAIL_POLL_SECONDS": "0.2",
        "SMBSELECT_PLUGINS": "e2e_program",
        "PYTHONPATH": os.pathsep.join([str(PLUGIN_DIR), os.environ.get("PYTHONPATH", "")]),
    }
    server = testing.ServerProcess(env, cwd=str(tmp_path))
    server.env["SMBSELECT_PUBLIC_URL"] = server.url
    async with server:
        anonymous = Http(server.url)
        admin = await anonymous.login("ada", testing.ADMIN_PASSWORD)

        # --- the admin invites Equant's Li to the program with a document ---
        found = await admin.data(FIND, {"s": "equ"})
        program = next(p["id"] for p in found["programs"] if p["code"] == "SMB_DOCS")
        partner = found["partners"]["edges"][0]["node"]
        li_id = next(e["node"]["id"] for e in partner["users"]["edges"] if e["node"]["username"] == "li.wei")
        sent = (await admin.data(SEND, {"p": program, "partner": partner["id"], "users": [li_id]}))["invitationSend"]
        assert sent["userErrors"] == []
        assert [(a["status"], a["location"]["name"]) for a in sent["invitation"]["applications"]] == [
            ("IN_PROGRESS", "Equant China")]
        [invitation_mail] = await drained(smtp, 1)
        assert invitation_mail.rcpt_tos == ["li.wei@equant.example"]
        assert "SMB Select Plus" in invitation_mail.subject
        assert "signed partner agreement" in invitation_mail.text
        li_token = token_in(invitation_mail)

        # --- Li follows her link and logs in with her password ---
        preview = (await anonymous.data(PREVIEW, {"t": li_token}))["invitationPreview"]
        assert preview == {"programName": "SMB Select Plus", "partnerName": "Equant", "expired": False,
                           "needsPassword": False, "supportEmail": "support@smbselect.test"}
        accepted = (await anonymous.data(ACCEPT_INVITATION, {"t": li_token, "p": testing.PARTNER_PASSWORD}))
        li = Http(server.url, accepted["invitationAccept"]["token"])
        app_id = accepted["invitationAccept"]["applications"][0]["id"]

        # --- location, program (IN_PROGRESS → NOT_SUBMITTED), job roles, terms ---
        table = (await li.data(TABLE))["me"]["locations"]
        assert table == [{"id": table[0]["id"], "name": "Equant China",
                          "applications": [{"id": app_id, "status": "IN_PROGRESS", "program": {"code": "SMB_DOCS"}}]}]
        assert (await li.data(START, {"id": app_id}))["applicationStart"]["application"]["status"] == "NOT_SUBMITTED"
        staff = (await li.data(STAFF, {"id": app_id}))["application"]
        chen = staff["am"][0]["id"]
        assert [s["username"] for s in staff["se"]] == ["chen.jing"]
        saved = await li.data(SAVE, {"id": app_id, "a": [{"jobRoleCode": "ACCOUNT_MANAGER", "userId": chen},
                                                         {"jobRoleCode": "SALES_ENGINEER", "userId": chen}]})
        assert saved["jobAllocationsSave"] == {"application": {"missingJobRoles": []}, "userErrors": []}
        declined = (await li.data(DECLINE, {"id": app_id}))["termsDecline"]
        assert "must be accepted" in declined["message"]
        version = staff["program"]["terms"]["version"]
        assert (await li.data(TERMS, {"id": app_id, "v": version}))["termsAccept"]["userErrors"] == []

        # --- submit (the document comes after, as in the seed) ---
        submitted = (await li.data(SUBMIT, {"id": app_id}))["applicationSubmit"]
        assert submitted["userErrors"] == [] and submitted["application"]["status"] == "SUBMITTED"
        mails = await drained(smtp, 3)
        assert sorted(m.rcpt_tos[0] for m in mails[1:]) == ["ada@cisco.example", "li.wei@equant.example"]
        assert all("Equant China" in m.text and "support@smbselect.test" in m.text for m in mails[1:])
        pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
        uploaded = (await li.upload(UPLOAD, {"id": app_id}, "agreement.pdf", pdf))["documentUpload"]
        assert uploaded["userErrors"] == [] and uploaded["document"]["status"] == "PENDING"
        mails = await drained(smtp, 4)  # the admin hears of the upload
        assert mails[3].rcpt_tos == ["ada@cisco.example"]
        async with httpx.AsyncClient() as http:
            downloaded = await http.get(uploaded["document"]["downloadUrl"])
        assert downloaded.status_code == 200 and downloaded.content == pdf

        # --- the admin asks for changes; approval without the document accepted is refused ---
        refused = (await admin.data(DECIDE, {"id": app_id, "d": "APPROVED", "c": None}))["applicationDecide"]
        assert [e["code"] for e in refused["userErrors"]] == ["DOCUMENT_MISSING"]
        comment = "Please name a second person as Sales Engineer."
        preview_mail = (await admin.data(PREVIEW_DECISION, {"id": app_id, "d": "CHANGES_REQUESTED", "c": comment}))
        [expected] = preview_mail["decisionEmailPreview"]
        changed = (await admin.data(DECIDE, {"id": app_id, "d": "CHANGES_REQUESTED", "c": comment}))
        assert changed["applicationDecide"]["application"]["status"] == "CHANGES_REQUESTED"
        mails = await drained(smtp, 5)
        assert mails[4].rcpt_tos == expected["to"] == ["li.wei@equant.example"]
        assert mails[4].subject == expected["subject"] and comment in mails[4].text

        # --- Li accepts the terms again and resubmits; the admin accepts the document and approves ---
        assert (await li.data(TERMS, {"id": app_id, "v": version}))["termsAccept"]["userErrors"] == []
        assert (await li.data(SUBMIT, {"id": app_id}))["applicationSubmit"]["application"]["status"] == "SUBMITTED"
        await drained(smtp, 7)
        assert (await admin.data(REVIEW_DOC, {"id": uploaded["document"]["id"]}))["documentReview"]["userErrors"] == []
        approved = (await admin.data(DECIDE, {"id": app_id, "d": "APPROVED", "c": "Welcome aboard"}))
        assert approved["applicationDecide"]["application"]["status"] == "APPROVED"
        mails = await drained(smtp, 8)
        assert mails[7].rcpt_tos == ["li.wei@equant.example"] and "Welcome aboard" in mails[7].text
        detail = (await li.data(DETAIL, {"id": app_id}))["application"]
        assert [e["kind"] for e in detail["events"]] == [
            "INVITED", "STARTED", "JOB_ALLOCATIONS_SAVED", "TERMS_DECLINED", "TERMS_ACCEPTED", "SUBMITTED",
            "DOCUMENT_UPLOADED", "DECIDED", "TERMS_ACCEPTED", "SUBMITTED", "DOCUMENT_REVIEWED", "DECIDED"]
        assert detail["events"][7]["comment"] == comment
        assert detail["events"][0]["actor"] == {"role": "ADMIN"}
        assert detail["termsAcceptance"]["user"]["username"] == "li.wei"

        # --- Nordic: Ole chooses his first password through the link; rejected, then reopened ---
        nordic_found = (await admin.data(FIND, {"s": "nordic"}))["partners"]["edges"][0]["node"]
        ole_id = next(e["node"]["id"] for e in nordic_found["users"]["edges"] if e["node"]["username"] == "ole.hansen")
        await admin.data(SEND, {"p": program, "partner": nordic_found["id"], "users": [ole_id]})
        mails = await drained(smtp, 9)
        ole_token = token_in(mails[8])
        assert (await anonymous.data(PREVIEW, {"t": ole_token}))["invitationPreview"]["needsPassword"] is True
        short = (await anonymous.data(ACCEPT_INVITATION, {"t": ole_token, "p": "short"}))["invitationAccept"]
        assert [e["code"] for e in short["userErrors"]] == ["INVALID"]
        first = (await anonymous.data(ACCEPT_INVITATION, {"t": ole_token, "p": "ole-first-password"}))
        ole = Http(server.url, first["invitationAccept"]["token"])
        oslo_app = first["invitationAccept"]["applications"][0]["id"]
        await ole.data(START, {"id": oslo_app})
        ole_staff = (await ole.data(STAFF, {"id": oslo_app}))["application"]
        ole_self = ole_staff["se"][0]["id"]
        await ole.data(SAVE, {"id": oslo_app, "a": [{"jobRoleCode": "ACCOUNT_MANAGER", "userId": ole_self},
                                                    {"jobRoleCode": "SALES_ENGINEER", "userId": ole_self}]})
        await ole.data(TERMS, {"id": oslo_app, "v": version})
        assert (await ole.data(SUBMIT, {"id": oslo_app}))["applicationSubmit"]["userErrors"] == []
        await drained(smtp, 11)
        rejected = await admin.data(DECIDE, {"id": oslo_app, "d": "REJECTED", "c": "Not enough certified staff."})
        assert rejected["applicationDecide"]["application"]["status"] == "REJECTED"
        mails = await drained(smtp, 12)
        assert mails[11].rcpt_tos == ["ole@nordic.example"] and "Not enough certified staff." in mails[11].text
        # Li (Equant) sees nothing of Nordic's application
        assert (await li.data(DETAIL, {"id": oslo_app})) == {"application": None}
        # a new invitation reopens it as round 2, its history kept
        await admin.data(SEND, {"p": program, "partner": nordic_found["id"], "users": [ole_id]})
        await drained(smtp, 13)
        reopened = (await admin.data(DETAIL, {"id": oslo_app}))["application"]
        assert reopened["status"] == "IN_PROGRESS" and reopened["round"] == 2
        kinds = [e["kind"] for e in reopened["events"]]
        assert kinds == ["INVITED", "STARTED", "JOB_ALLOCATIONS_SAVED", "TERMS_ACCEPTED", "SUBMITTED", "DECIDED",
                         "REOPENED", "INVITED"]

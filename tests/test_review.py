"""The admin's decision (applicationDecide) and its email preview (decisionEmailPreview)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import pytest

from smbselect import ids, testing
from smbselect.db.enums import ApplicationEventKind, ApplicationStatus, DocumentStatus
from smbselect.db.models import (
    Application,
    ApplicationEvent,
    Certification,
    Document,
    EmailMessage,
    JobAllocation,
    TermsAcceptance,
)
from smbselect.plugins import hookimpl, smb_select
from smbselect.plugins.definitions import DocumentRequirementDef
from smbselect.resolvers.applications import add_business_days
from smbselect.resolvers.programs import sync_programs
from smbselect.testing import ADMIN_PASSWORD, PARTNER_PASSWORD, GraphQLClient

START = "mutation($id: ID!) { applicationStart(input: {applicationId: $id}) { userErrors { code message } } }"
SAVE = """mutation($id: ID!, $a: [JobAllocationInput!]!) {
  jobAllocationsSave(input: {applicationId: $id, allocations: $a}) { userErrors { code message field } } }"""
ACCEPT = """mutation($id: ID!, $v: String!) {
  termsAccept(input: {applicationId: $id, version: $v}) { userErrors { code message field } } }"""
SUBMIT = """mutation($id: ID!) { applicationSubmit(input: {applicationId: $id}) {
  application { status reviewDueOn } userErrors { code message } } }"""
DECIDE = """mutation($id: ID!, $d: Decision!, $c: String) {
  applicationDecide(input: {applicationId: $id, decision: $d, comment: $c}) {
    application { status decidedAt lastDecision decisionComment }
    userErrors { code field message } } }"""
PREVIEW = """query($id: ID!, $d: Decision!, $c: String) {
  decisionEmailPreview(applicationId: $id, decision: $d, comment: $c) { to subject body } }"""
VIEW = """query($id: ID!) { application(id: $id) {
  status decidedAt lastDecision decisionComment reviewDueOn canSubmit
  program { name terms { version } } location { name }
  jobAllocations { role { code } user { username } }
  termsAcceptance { version }
  submitBlockers { code }
  events { kind comment fromStatus toStatus actor { name role } }
} }"""


@dataclass
class Submitted:
    """A SUBMITTED application of Equant China to SMB Select, submitted by li.wei."""

    gid: str
    row: Application
    admin: GraphQLClient
    li: GraphQLClient
    terms_version: str


@pytest.fixture
async def submitted(client: GraphQLClient, world: dict, smtp: testing.SmtpCatcher, app: Any) -> Submitted:
    row = await testing.make_application("SMB_SELECT", world["china"], invited_by=world["admin"],
                                         invited_users=[world["li"]])
    zhou = await testing.make_user("zhou.yan", partner=world["equant"], staff_of=[world["china"]],
                                   certifications={"CSA": None})
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    admin = await client.as_user("admin", ADMIN_PASSWORD)
    gid = ids.encode("Application", row.id)
    assert (await li.data(START, {"id": gid}))["applicationStart"]["userErrors"] == []
    chen, zhou_id = ids.encode("User", world["chen"].id), ids.encode("User", zhou.id)
    allocations = [
        {"jobRoleCode": "ACCOUNT_MANAGER", "userId": chen},
        {"jobRoleCode": "SALES_ENGINEER", "userId": chen},
        {"jobRoleCode": "FIELD_ENGINEER", "userId": zhou_id},
    ]
    assert (await li.data(SAVE, {"id": gid, "a": allocations}))["jobAllocationsSave"]["userErrors"] == []
    version = (await li.data(VIEW, {"id": gid}))["application"]["program"]["terms"]["version"]
    assert (await li.data(ACCEPT, {"id": gid, "v": version}))["termsAccept"]["userErrors"] == []
    done = await li.data(SUBMIT, {"id": gid})
    assert done["applicationSubmit"]["application"]["status"] == "SUBMITTED"
    # the submission emails are out of the way before the decision
    await app.state.relay.drain_once()
    await smtp.wait_for(2)
    smtp.messages.clear()
    return Submitted(gid, await Application.get(id=row.id), admin, li, version)


async def decide(s: Submitted, decision: str, comment: str | None = None,
                 as_: GraphQLClient | None = None) -> dict[str, Any]:
    data = await (as_ or s.admin).data(DECIDE, {"id": s.gid, "d": decision, "c": comment})
    return data["applicationDecide"]


async def decision_events(row: Application) -> list[ApplicationEvent]:
    return await ApplicationEvent.filter(application_id=row.id, kind=ApplicationEventKind.DECIDED)


async def decision_mail_count(row: Application) -> int:
    return await EmailMessage.filter(application_id=row.id, kind__startswith="application_").exclude(
        kind__startswith="application_submitted"
    ).count()


# --- approve ----------------------------------------------------------------------------


async def test_approve(submitted: Submitted, smtp: testing.SmtpCatcher, app: Any) -> None:
    # when the admin approves
    result = await decide(submitted, "APPROVED")
    # then the application is APPROVED with the decision recorded
    assert result["userErrors"] == []
    application = result["application"]
    assert application["status"] == "APPROVED"
    assert application["lastDecision"] == "APPROVED"
    assert application["decidedAt"]
    assert application["decisionComment"] is None
    view = (await submitted.li.data(VIEW, {"id": submitted.gid}))["application"]
    decided = view["events"][-1]
    assert decided["kind"] == "DECIDED"
    assert (decided["fromStatus"], decided["toStatus"]) == ("SUBMITTED", "APPROVED")
    assert decided["actor"]["role"] == "ADMIN"
    event = (await decision_events(submitted.row))[0]
    assert event.data == {"decision": "APPROVED"}
    # and li receives one email naming the program and the location, with the link
    await app.state.relay.drain_once()
    mails = await smtp.wait_for(1)
    assert len(mails) == 1
    mail = mails[0]
    assert mail.rcpt_tos == ["li.wei@example.com"]
    assert "SMB Select" in mail.subject and "Equant China" in mail.subject
    assert "approved" in mail.subject
    assert "Welcome to SMB Select" in mail.text
    assert "Equant China" in mail.text
    assert f"http://app.test/applications/{submitted.gid}" in mail.links()
    # a decided application cannot be decided again
    again = await decide(submitted, "REJECTED", "Too late.")
    assert [e["code"] for e in again["userErrors"]] == ["INVALID_STATUS"]


async def test_approve_with_a_comment_keeps_it(submitted: Submitted) -> None:
    result = await decide(submitted, "APPROVED", "  Well done.  ")
    assert result["application"]["decisionComment"] == "Well done."
    assert (await decision_events(submitted.row))[0].comment == "Well done."


async def test_approve_when_a_certification_expired_since(submitted: Submitted, world: dict) -> None:
    # given zhou's certification expired after the submission
    zhou = await Certification.get(user__username="zhou.yan", code="CSA")
    zhou.expires_on = date.today() - timedelta(days=1)
    await zhou.save()
    # when the admin approves
    result = await decide(submitted, "APPROVED")
    # then it is refused with the person, the role and the reason, and nothing changed
    assert result["application"] is None
    [error] = result["userErrors"]
    assert error["code"] == "NOT_QUALIFIED"
    assert error["field"] == ["input", "applicationId"]
    assert "Zhou Yan" in error["message"] and "Field Engineer" in error["message"]
    assert "expired" in error["message"].lower() or "certification" in error["message"].lower()
    assert (await Application.get(id=submitted.row.id)).status == ApplicationStatus.SUBMITTED
    assert await decision_events(submitted.row) == []
    # rejecting is still possible
    assert (await decide(submitted, "REJECTED", "Field Engineer not certified."))["userErrors"] == []


NDA = DocumentRequirementDef("NDA", "Signed NDA", "The signed NDA.", ("application/pdf",), 1_000_000)


class NdaProgram:
    """A program like SMB Select that requires a signed NDA (for one test only)."""

    program = replace(smb_select.PROGRAM, code="NDA_PROGRAM", name="NDA Program", required_documents=(NDA,))

    @hookimpl
    def smbselect_programs(self) -> list[Any]:
        return [self.program]


async def test_approve_needs_every_required_document_accepted(
    client: GraphQLClient, app: Any, world: dict
) -> None:
    # given a SUBMITTED application to a program that requires an NDA (staffed, terms accepted)
    plugins = app.state.plugins
    plugins.register(NdaProgram(), "nda_program")
    try:
        await sync_programs(plugins)
        row = await testing.make_application("NDA_PROGRAM", world["oslo"], status="SUBMITTED",
                                             invited_by=world["admin"], invited_users=[world["ole"]])
        ole = world["ole"]
        for role in ("ACCOUNT_MANAGER", "SALES_ENGINEER"):
            await JobAllocation.create(application=row, role_code=role, user=ole)
        other = await testing.make_user("kari.nordmann", partner=world["nordic"], staff_of=[world["oslo"]],
                                        certifications={"CSE": None})
        await JobAllocation.create(application=row, role_code="FIELD_ENGINEER", user=other)
        terms = NdaProgram.program.terms
        await TermsAcceptance.create(application=row, user=ole, username=ole.username, version=terms.version,
                                     sha256=terms.sha256, accepted_at=row.invited_at)
        admin = await client.as_user("admin", ADMIN_PASSWORD)
        gid = ids.encode("Application", row.id)
        approve = {"id": gid, "d": "APPROVED", "c": None}
        # when the NDA is missing, the approval is refused naming it
        result = (await admin.data(DECIDE, approve))["applicationDecide"]
        assert [(e["code"], e["field"]) for e in result["userErrors"]] == [
            ("DOCUMENT_MISSING", ["input", "applicationId"])
        ]
        assert "Signed NDA" in result["userErrors"][0]["message"]
        assert (await admin.data(PREVIEW, approve))["decisionEmailPreview"] == []
        # a pending upload is not enough either
        doc = await Document.create(
            application_id=row.id, requirement_code="NDA", filename="nda.pdf",
            content_type="application/pdf", size=10, sha256="0" * 64, storage_name="nda-test",
            uploaded_at=row.invited_at, uploaded_by=ole,
        )
        result = (await admin.data(DECIDE, approve))["applicationDecide"]
        assert [e["code"] for e in result["userErrors"]] == ["DOCUMENT_MISSING"]
        # once accepted, it is approved
        doc.status = DocumentStatus.ACCEPTED
        await doc.save()
        result = (await admin.data(DECIDE, approve))["applicationDecide"]
        assert result["userErrors"] == []
        assert result["application"]["status"] == "APPROVED"
    finally:
        plugins.unregister("nda_program")


# --- reject -----------------------------------------------------------------------------


@pytest.mark.parametrize("comment", [None, "", "   \n "])
async def test_reject_without_a_comment_writes_nothing(submitted: Submitted, comment: str | None) -> None:
    mails_before = await EmailMessage.all().count()
    result = await decide(submitted, "REJECTED", comment)
    assert result["application"] is None
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [("REQUIRED", ["input", "comment"])]
    row = await Application.get(id=submitted.row.id)
    assert row.status == ApplicationStatus.SUBMITTED
    assert row.version == submitted.row.version
    assert row.decided_at is None and row.last_decision is None
    assert await decision_events(submitted.row) == []
    assert await EmailMessage.all().count() == mails_before


async def test_reject_with_a_comment(submitted: Submitted, smtp: testing.SmtpCatcher, app: Any) -> None:
    reason = "Your location has no demonstration room yet."
    result = await decide(submitted, "REJECTED", reason)
    assert result["userErrors"] == []
    assert result["application"]["status"] == "REJECTED"
    assert result["application"]["lastDecision"] == "REJECTED"
    assert result["application"]["decisionComment"] == reason
    view = (await submitted.li.data(VIEW, {"id": submitted.gid}))["application"]
    assert view["decisionComment"] == reason
    assert view["events"][-1]["kind"] == "DECIDED"
    assert view["events"][-1]["comment"] == reason
    assert view["events"][-1]["toStatus"] == "REJECTED"
    await app.state.relay.drain_once()
    [mail] = await smtp.wait_for(1)
    assert mail.rcpt_tos == ["li.wei@example.com"]
    assert "not approved" in mail.subject and "Equant China" in mail.subject
    assert reason in mail.text
    assert "support@smbselect.test" in mail.text
    assert "new invitation" in mail.text


# --- changes requested ------------------------------------------------------------------


async def test_changes_requested_and_resubmit(submitted: Submitted, smtp: testing.SmtpCatcher, app: Any) -> None:
    comment = "Please name a different Sales Engineer."
    result = await decide(submitted, "CHANGES_REQUESTED", comment)
    assert result["userErrors"] == []
    assert result["application"]["status"] == "CHANGES_REQUESTED"
    # then the partner sees the comment, keeps the allocations and must accept the terms again
    view = (await submitted.li.data(VIEW, {"id": submitted.gid}))["application"]
    assert view["lastDecision"] == "CHANGES_REQUESTED"
    assert view["decisionComment"] == comment
    assert len(view["jobAllocations"]) == 3
    assert view["termsAcceptance"] is None
    assert [b["code"] for b in view["submitBlockers"]] == ["TERMS_NOT_ACCEPTED"]
    assert view["canSubmit"] is False
    row = await Application.get(id=submitted.row.id)
    assert row.terms_declined is False
    terms = await TermsAcceptance.filter(application_id=row.id)
    assert len(terms) == 1 and terms[0].withdrawn_at is not None  # kept, withdrawn
    # and is told what to do
    await app.state.relay.drain_once()
    [mail] = await smtp.wait_for(1)
    assert mail.rcpt_tos == ["li.wei@example.com"]
    assert "changes requested" in mail.subject.lower()
    assert comment in mail.text
    assert "accept the terms and conditions again" in mail.text
    assert "submit" in mail.text
    # when li accepts the terms and submits again
    await Application.filter(id=row.id).update(review_due_on=date(2000, 1, 3))
    accepted = await submitted.li.data(ACCEPT, {"id": submitted.gid, "v": submitted.terms_version})
    assert accepted["termsAccept"]["userErrors"] == []
    again = (await submitted.li.data(SUBMIT, {"id": submitted.gid}))["applicationSubmit"]
    # then it is SUBMITTED again with a new due date
    assert again["userErrors"] == []
    assert again["application"]["status"] == "SUBMITTED"
    assert again["application"]["reviewDueOn"] == add_business_days(
        (await Application.get(id=row.id)).submitted_at.date(), 5
    ).isoformat()
    # and can be decided again
    assert (await decide(submitted, "APPROVED"))["application"]["status"] == "APPROVED"


async def test_changes_requested_needs_a_comment(submitted: Submitted) -> None:
    result = await decide(submitted, "CHANGES_REQUESTED", " ")
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [("REQUIRED", ["input", "comment"])]
    assert await TermsAcceptance.filter(application_id=submitted.row.id, withdrawn_at=None).count() == 1


# --- who and what may be decided --------------------------------------------------------


async def test_decide_a_not_submitted_application(client: GraphQLClient, world: dict) -> None:
    row = await testing.make_application("SMB_SELECT", world["china"], status="NOT_SUBMITTED",
                                         invited_by=world["admin"], invited_users=[world["li"]])
    admin = await client.as_user("admin", ADMIN_PASSWORD)
    gid = ids.encode("Application", row.id)
    for decision, comment in (("APPROVED", None), ("REJECTED", "No."), ("CHANGES_REQUESTED", "Fix.")):
        result = (await admin.data(DECIDE, {"id": gid, "d": decision, "c": comment}))["applicationDecide"]
        assert [(e["code"], e["field"]) for e in result["userErrors"]] == [
            ("INVALID_STATUS", ["input", "applicationId"])
        ]
    preview = await admin.data(PREVIEW, {"id": gid, "d": "REJECTED", "c": "No."})
    assert preview["decisionEmailPreview"] == []
    assert await EmailMessage.all().count() == 0


@pytest.mark.parametrize("gid", ["not-an-id", ids.encode("Application", 999999), ids.encode("User", 1)])
async def test_decide_an_unknown_application(client: GraphQLClient, world: dict, gid: str) -> None:
    admin = await client.as_user("admin", ADMIN_PASSWORD)
    result = (await admin.data(DECIDE, {"id": gid, "d": "APPROVED", "c": None}))["applicationDecide"]
    assert result == {"application": None, "userErrors": [
        {"code": "NOT_FOUND", "field": ["input", "applicationId"], "message": "Not found."}
    ]}
    assert (await admin.data(PREVIEW, {"id": gid, "d": "APPROVED"}))["decisionEmailPreview"] == []


async def test_a_partner_may_not_decide_or_preview(submitted: Submitted) -> None:
    answer = await submitted.li.gql(DECIDE, {"id": submitted.gid, "d": "APPROVED"})
    assert answer["data"] is None
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["FORBIDDEN"]
    preview = await submitted.li.gql(PREVIEW, {"id": submitted.gid, "d": "APPROVED"})
    assert [e["extensions"]["code"] for e in preview["errors"]] == ["FORBIDDEN"]
    anonymous = await submitted.li.gql(DECIDE, {"id": submitted.gid, "d": "APPROVED"}, token="")
    assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]
    assert (await Application.get(id=submitted.row.id)).status == ApplicationStatus.SUBMITTED


# --- the preview ------------------------------------------------------------------------


@pytest.mark.parametrize("decision, comment", [
    ("APPROVED", None),
    ("REJECTED", "We have enough partners in China for now."),
    ("CHANGES_REQUESTED", "Name a second person <b>please</b> & thanks."),
])
async def test_the_preview_is_the_email_sent(
    submitted: Submitted, smtp: testing.SmtpCatcher, app: Any, decision: str, comment: str | None
) -> None:
    # given the admin previews the decision
    preview = (await submitted.admin.data(PREVIEW, {"id": submitted.gid, "d": decision, "c": comment}))
    [shown] = preview["decisionEmailPreview"]
    assert await EmailMessage.filter(application_id=submitted.row.id).count() == 2  # submission only
    # when they confirm
    assert (await decide(submitted, decision, comment))["userErrors"] == []
    # then exactly the previewed email arrives
    await app.state.relay.drain_once()
    [mail] = await smtp.wait_for(1)
    assert shown["to"] == mail.rcpt_tos == ["li.wei@example.com"]
    assert shown["subject"] == mail.subject
    # the body as queued, and as received (SMTP carries lines ending in CRLF)
    queued = await EmailMessage.get(application_id=submitted.row.id, kind__startswith=f"application_{decision.lower()}")
    assert shown["body"] == queued.body_text
    assert shown["body"] == mail.text.replace("\r\n", "\n")
    if comment:
        assert comment in shown["body"]
    # and there is nothing left to preview
    after = await submitted.admin.data(PREVIEW, {"id": submitted.gid, "d": decision, "c": comment})
    assert after["decisionEmailPreview"] == []


async def test_the_preview_follows_the_email_hook(submitted: Submitted, smtp: testing.SmtpCatcher, app: Any) -> None:
    class Cc:
        @hookimpl
        def smbselect_email(self, program: Any, event: str, language: str, email: dict) -> Any:
            if not event.startswith("application_") or event.startswith("application_submitted"):
                return None
            return {**email, "subject": "[Partner desk] " + email["subject"], "cc": ["desk@example.com"]}

    app.state.plugins.register(Cc(), "cc_desk")
    try:
        [shown] = (await submitted.admin.data(PREVIEW, {"id": submitted.gid, "d": "APPROVED"}))[
            "decisionEmailPreview"
        ]
        assert shown["subject"].startswith("[Partner desk] ")
        assert shown["to"] == ["li.wei@example.com", "desk@example.com"]
        assert (await decide(submitted, "APPROVED"))["userErrors"] == []
    finally:
        app.state.plugins.unregister("cc_desk")
    await app.state.relay.drain_once()
    [mail] = await smtp.wait_for(1)
    assert sorted(mail.rcpt_tos) == sorted(shown["to"])
    # the stdlib folds a subject starting with "[" onto a continuation line; unfolded it is the same
    assert mail.subject.strip() == shown["subject"]
    assert mail.text.replace("\r\n", "\n") == shown["body"]


async def test_the_preview_is_empty_for_a_decision_that_would_be_refused(submitted: Submitted) -> None:
    blank = await submitted.admin.data(PREVIEW, {"id": submitted.gid, "d": "REJECTED", "c": "  "})
    assert blank["decisionEmailPreview"] == []


# --- races ------------------------------------------------------------------------------


async def test_concurrent_decisions_decide_once(submitted: Submitted, smtp: testing.SmtpCatcher, app: Any) -> None:
    # when 20 decisions race
    variables = [{"id": submitted.gid, "d": "REJECTED" if i % 2 else "APPROVED", "c": f"Race {i}."}
                 for i in range(20)]
    answers = await asyncio.gather(*(submitted.admin.data(DECIDE, v) for v in variables))
    # then exactly one is taken, the others are told the status changed
    results = [a["applicationDecide"] for a in answers]
    won = [r for r in results if not r["userErrors"]]
    lost = [r for r in results if r["userErrors"]]
    assert len(won) == 1
    assert {e["code"] for r in lost for e in r["userErrors"]} == {"INVALID_STATUS"}
    assert len(await decision_events(submitted.row)) == 1
    assert await decision_mail_count(submitted.row) == 1
    row = await Application.get(id=submitted.row.id)
    assert row.status.value == won[0]["application"]["status"]
    assert row.decision_comment == won[0]["application"]["decisionComment"]
    await app.state.relay.drain_once()
    mails = await smtp.wait_for(1)
    await asyncio.sleep(0.2)
    assert len(smtp.messages) == 1
    assert row.decision_comment in mails[0].text

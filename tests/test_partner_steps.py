"""The partner's steps: start, job allocations, terms, submit, withdraw."""

from __future__ import annotations

from smbselect import ids, testing
from smbselect.testing import PARTNER_PASSWORD

APPLICATION = """
query($id: ID!) { application(id: $id) {
  status round jobRoles { code headcount } missingJobRoles { code } canSubmit
  submitBlockers { code message jobRoleCode }
  qualifiedStaff(jobRoleCode: "ACCOUNT_MANAGER") { username }
  jobAllocations { role { code } user { username } }
  termsAcceptance { version user { username } }
  program { code terms { version } } location { name }
  events { kind actor { name role user { username } } fromStatus toStatus }
} }"""
START = "mutation($id: ID!) { applicationStart(input: {applicationId: $id}) { application { status } userErrors { code message field } } }"
SAVE = """mutation($id: ID!, $a: [JobAllocationInput!]!) { jobAllocationsSave(input: {applicationId: $id, allocations: $a}) {
  application { missingJobRoles { code } } userErrors { code message field } } }"""
ACCEPT = "mutation($id: ID!, $v: String!) { termsAccept(input: {applicationId: $id, version: $v}) { application { canSubmit } userErrors { code field } } }"
SUBMIT = "mutation($id: ID!) { applicationSubmit(input: {applicationId: $id}) { application { status reviewDueOn } userErrors { code message } } }"


async def test_happy_path_to_submitted(client, world, smtp, app):
    # given an application of Equant China invited by the admin to li
    row = await testing.make_application("SMB_SELECT", world["china"], invited_by=world["admin"],
                                         invited_users=[world["li"]])
    three = await testing.make_user("zhou.yan", partner=world["equant"], staff_of=[world["china"]],
                                    certifications={"CSA": None})
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    gid = ids.encode("Application", row.id)
    # when li starts, allocates, accepts and submits
    started = await li.data(START, {"id": gid})
    assert started["applicationStart"] == {"application": {"status": "NOT_SUBMITTED"}, "userErrors": []}
    chen, zhou = ids.encode("User", world["chen"].id), ids.encode("User", three.id)
    allocs = [{"jobRoleCode": "ACCOUNT_MANAGER", "userId": chen}, {"jobRoleCode": "SALES_ENGINEER", "userId": chen},
              {"jobRoleCode": "FIELD_ENGINEER", "userId": zhou}]
    saved = await li.data(SAVE, {"id": gid, "a": allocs})
    assert saved["jobAllocationsSave"]["userErrors"] == []
    before = await li.data(APPLICATION, {"id": gid})
    assert [b["code"] for b in before["application"]["submitBlockers"]] == ["TERMS_NOT_ACCEPTED"]
    version = before["application"]["program"]["terms"]["version"]
    accepted = await li.data(ACCEPT, {"id": gid, "v": version})
    assert accepted["termsAccept"] == {"application": {"canSubmit": True}, "userErrors": []}
    submitted = await li.data(SUBMIT, {"id": gid})
    # then it is SUBMITTED with a due date, and the partner and the admin are emailed
    assert submitted["applicationSubmit"]["application"]["status"] == "SUBMITTED"
    assert submitted["applicationSubmit"]["application"]["reviewDueOn"]
    await app.state.relay.drain_once()
    await smtp.wait_for(2)
    assert {tuple(m.rcpt_tos) for m in smtp.messages} == {("li.wei@example.com",), ("admin@example.com",)}
    view = (await li.data(APPLICATION, {"id": gid}))["application"]
    assert [e["kind"] for e in view["events"]] == ["STARTED", "JOB_ALLOCATIONS_SAVED", "TERMS_ACCEPTED", "SUBMITTED"]
    assert view["termsAcceptance"]["user"]["username"] == "li.wei"
    # submitting twice sends nothing twice
    again = await li.data(SUBMIT, {"id": gid})
    assert again["applicationSubmit"]["userErrors"][0]["code"] == "INVALID_STATUS"

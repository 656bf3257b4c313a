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


DECLINE = """mutation($id: ID!) { termsDecline(input: {applicationId: $id}) {
  message application { termsAcceptance { version } submitBlockers { code message } canSubmit } userErrors { code } } }"""
WITHDRAW = """mutation($id: ID!, $r: String) { applicationWithdraw(input: {applicationId: $id, reason: $r}) {
  application { status events { kind comment } } userErrors { code field message } } }"""
IN_PROGRESS_TABLE = "{ me { locations { name applications { status program { code } } } } }"


async def _started(client, world, location="china"):
    """An application of Equant China (or Austria) that li has started."""
    row = await testing.make_application("SMB_SELECT", world[location], invited_by=world["admin"],
                                         invited_users=[world["li"]])
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    gid = ids.encode("Application", row.id)
    await li.data(START, {"id": gid})
    return li, gid, row


def uid(user) -> str:
    return ids.encode("User", user.id)


async def test_in_progress_table_and_start_is_idempotent(client, world):
    row = await testing.make_application("SMB_SELECT", world["china"])
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    table = await li.data(IN_PROGRESS_TABLE)
    china = next(loc for loc in table["me"]["locations"] if loc["name"] == "Equant China")
    assert china["applications"] == [{"status": "IN_PROGRESS", "program": {"code": "SMB_SELECT"}}]
    gid = ids.encode("Application", row.id)
    first = await li.data(START, {"id": gid})
    second = await li.data(START, {"id": gid})
    assert first["applicationStart"]["application"]["status"] == "NOT_SUBMITTED"
    assert second["applicationStart"] == first["applicationStart"]
    events = (await li.data(APPLICATION, {"id": gid}))["application"]["events"]
    assert [e["kind"] for e in events] == ["STARTED"]  # the second start wrote nothing


async def test_qualified_staff_is_the_locations_certified_active_staff(client, world):
    # given staff of China: chen (CSE), an expired CSE, one without certification, an
    # inactive CSA; and ole (Nordic, CSE) who is not staff of China
    from datetime import date

    await testing.make_user("old.cse", partner=world["equant"], staff_of=[world["china"]],
                            certifications={"CSE": date(2020, 1, 1)})
    await testing.make_user("no.cert", partner=world["equant"], staff_of=[world["china"]])
    await testing.make_user("gone.csa", partner=world["equant"], staff_of=[world["china"]],
                            certifications={"CSA": None}, active=False)
    li, gid, _ = await _started(client, world)
    view = (await li.data(APPLICATION, {"id": gid}))["application"]
    # then the drop-down holds only chen (li acts for China but is not its staff)
    assert view["qualifiedStaff"] == [{"username": "chen.jing"}]
    assert [r["code"] for r in view["jobRoles"]] == ["ACCOUNT_MANAGER", "SALES_ENGINEER", "FIELD_ENGINEER"]


async def test_allocation_errors_name_the_entry_and_change_nothing(client, world):
    from smbselect.db.models import JobAllocation

    no_cert = await testing.make_user("no.cert", partner=world["equant"], staff_of=[world["china"]])
    li, gid, row = await _started(client, world)
    chen = uid(world["chen"])
    cases = [
        ([{"jobRoleCode": "PILOT", "userId": chen}], "INVALID", ["input", "allocations", "0", "jobRoleCode"]),
        ([{"jobRoleCode": "ACCOUNT_MANAGER", "userId": uid(world["ole"])}], "NOT_FOUND",
         ["input", "allocations", "0", "userId"]),
        ([{"jobRoleCode": "ACCOUNT_MANAGER", "userId": uid(world["anna"])}], "NOT_FOUND",
         ["input", "allocations", "0", "userId"]),
        ([{"jobRoleCode": "ACCOUNT_MANAGER", "userId": "bm9wZQ"}], "NOT_FOUND",
         ["input", "allocations", "0", "userId"]),
        ([{"jobRoleCode": "ACCOUNT_MANAGER", "userId": uid(no_cert)}], "NOT_QUALIFIED",
         ["input", "allocations", "0", "userId"]),
        ([{"jobRoleCode": "ACCOUNT_MANAGER", "userId": chen}, {"jobRoleCode": "SALES_ENGINEER", "userId": chen},
          {"jobRoleCode": "FIELD_ENGINEER", "userId": chen}], "TOO_MANY_ROLES",
         ["input", "allocations", "2", "userId"]),
        ([{"jobRoleCode": "ACCOUNT_MANAGER", "userId": chen}, {"jobRoleCode": "ACCOUNT_MANAGER", "userId": chen}],
         "INVALID", ["input", "allocations", "1", "userId"]),
    ]
    for allocations, code, field in cases:
        result = (await li.data(SAVE, {"id": gid, "a": allocations}))["jobAllocationsSave"]
        assert result["application"] is None
        assert [(e["code"], e["field"]) for e in result["userErrors"]] == [(code, field)], allocations
        assert await JobAllocation.filter(application_id=row.id).count() == 0


async def test_more_people_than_the_headcount_is_invalid(client, world):
    other = await testing.make_user("zhou.yan", partner=world["equant"], staff_of=[world["china"]],
                                    certifications={"CSE": None})
    li, gid, _ = await _started(client, world)
    allocations = [{"jobRoleCode": "ACCOUNT_MANAGER", "userId": uid(world["chen"])},
                   {"jobRoleCode": "ACCOUNT_MANAGER", "userId": uid(other)}]
    result = (await li.data(SAVE, {"id": gid, "a": allocations}))["jobAllocationsSave"]
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [
        ("INVALID", ["input", "allocations", "1", "userId"])
    ]


async def test_partial_save_replaces_the_set_and_shows_what_is_missing(client, world):
    li, gid, _ = await _started(client, world)
    chen = uid(world["chen"])
    first = await li.data(SAVE, {"id": gid, "a": [{"jobRoleCode": "ACCOUNT_MANAGER", "userId": chen}]})
    assert [r["code"] for r in first["jobAllocationsSave"]["application"]["missingJobRoles"]] == [
        "SALES_ENGINEER", "FIELD_ENGINEER"]
    second = await li.data(SAVE, {"id": gid, "a": [{"jobRoleCode": "SALES_ENGINEER", "userId": chen}]})
    assert [r["code"] for r in second["jobAllocationsSave"]["application"]["missingJobRoles"]] == [
        "ACCOUNT_MANAGER", "FIELD_ENGINEER"]
    view = (await li.data(APPLICATION, {"id": gid}))["application"]
    assert view["jobAllocations"] == [{"role": {"code": "SALES_ENGINEER"}, "user": {"username": "chen.jing"}}]
    blockers = [(b["code"], b["jobRoleCode"]) for b in view["submitBlockers"]]
    assert ("ROLES_MISSING", "ACCOUNT_MANAGER") in blockers and ("ROLES_MISSING", "FIELD_ENGINEER") in blockers
    assert view["canSubmit"] is False


async def test_steps_need_the_right_status(client, world):
    row = await testing.make_application("SMB_SELECT", world["china"])  # IN_PROGRESS, not started
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    gid = ids.encode("Application", row.id)
    saved = (await li.data(SAVE, {"id": gid, "a": []}))["jobAllocationsSave"]
    assert saved["userErrors"][0]["code"] == "INVALID_STATUS"
    submitted = (await li.data(SUBMIT, {"id": gid}))["applicationSubmit"]
    assert submitted["userErrors"][0]["code"] == "INVALID_STATUS"


async def test_terms_version_must_be_the_current_one(client, world):
    li, gid, _ = await _started(client, world)
    result = (await li.data(ACCEPT, {"id": gid, "v": "1999-01"}))["termsAccept"]
    assert result == {"application": None, "userErrors": [{"code": "INVALID", "field": ["input", "version"]}]}


async def test_decline_withdraws_the_acceptance_and_blocks_submit(client, world):
    li, gid, _ = await _started(client, world)
    version = (await li.data(APPLICATION, {"id": gid}))["application"]["program"]["terms"]["version"]
    await li.data(ACCEPT, {"id": gid, "v": version})
    declined = (await li.data(DECLINE, {"id": gid}))["termsDecline"]
    assert declined["userErrors"] == []
    assert "must be accepted for the application to be accepted" in declined["message"]
    assert declined["application"]["termsAcceptance"] is None
    assert "TERMS_DECLINED" in [b["code"] for b in declined["application"]["submitBlockers"]]
    assert "TERMS_NOT_ACCEPTED" not in [b["code"] for b in declined["application"]["submitBlockers"]]
    result = (await li.data(SUBMIT, {"id": gid}))["applicationSubmit"]
    assert "TERMS_DECLINED" in [e["code"] for e in result["userErrors"]]
    kinds = [e["kind"] for e in (await li.data(APPLICATION, {"id": gid}))["application"]["events"]]
    assert kinds == ["STARTED", "TERMS_ACCEPTED", "TERMS_DECLINED"]


async def test_submit_answers_every_blocker_and_changes_nothing(client, world, app):
    from smbselect.db.models import EmailMessage

    li, gid, row = await _started(client, world)
    result = (await li.data(SUBMIT, {"id": gid}))["applicationSubmit"]
    codes = sorted(e["code"] for e in result["userErrors"])
    assert codes == ["ROLES_MISSING", "ROLES_MISSING", "ROLES_MISSING", "TERMS_NOT_ACCEPTED"]
    await row.refresh_from_db()
    assert row.status.value == "NOT_SUBMITTED" and row.submitted_at is None
    assert await EmailMessage.all().count() == 0


async def test_allocated_person_whose_certification_expired_blocks_submit(client, world):
    from datetime import date

    from smbselect.db.models import Certification

    other = await testing.make_user("zhou.yan", partner=world["equant"], staff_of=[world["china"]],
                                    certifications={"CSA": None})
    li, gid, _ = await _started(client, world)
    chen, zhou = uid(world["chen"]), uid(other)
    await li.data(SAVE, {"id": gid, "a": [
        {"jobRoleCode": "ACCOUNT_MANAGER", "userId": chen}, {"jobRoleCode": "SALES_ENGINEER", "userId": chen},
        {"jobRoleCode": "FIELD_ENGINEER", "userId": zhou}]})
    await Certification.filter(user_id=other.id).update(expires_on=date(2021, 5, 1))
    view = (await li.data(APPLICATION, {"id": gid}))["application"]
    blockers = [(b["code"], b["jobRoleCode"]) for b in view["submitBlockers"]]
    assert ("NOT_QUALIFIED", "FIELD_ENGINEER") in blockers
    assert any("expired" in b["message"] for b in view["submitBlockers"] if b["code"] == "NOT_QUALIFIED")


async def test_withdraw_before_a_decision(client, world):
    li, gid, _ = await _started(client, world)
    result = (await li.data(WITHDRAW, {"id": gid, "r": "Not this year"}))["applicationWithdraw"]
    assert result["application"]["status"] == "WITHDRAWN"
    assert result["application"]["events"][-1] == {"kind": "WITHDRAWN", "comment": "Not this year"}
    again = (await li.data(WITHDRAW, {"id": gid, "r": None}))["applicationWithdraw"]
    assert again["userErrors"][0]["code"] == "INVALID_STATUS"


async def test_a_bad_withdrawal_reason_is_refused_and_changes_nothing(client, world):
    li, gid, _ = await _started(client, world)
    for reason, message in (("x" * 5001, "The reason must have at most 5000 characters."),
                            ("a\x00b", "The reason may not contain NUL characters.")):
        result = (await li.data(WITHDRAW, {"id": gid, "r": reason}))["applicationWithdraw"]
        assert result["application"] is None
        assert [(e["code"], e["field"], e["message"]) for e in result["userErrors"]] == [
            ("INVALID", ["input", "reason"], message)]
    application = (await li.data(APPLICATION, {"id": gid}))["application"]
    assert application["status"] == "NOT_SUBMITTED"
    assert "WITHDRAWN" not in [e["kind"] for e in application["events"]]


async def test_partner_steps_of_another_location_look_like_nothing(client, world):
    # given an application of Equant Austria: mei acts only for China, ole for Nordic
    row = await testing.make_application("SMB_SELECT", world["austria"])
    gid = ids.encode("Application", row.id)
    missing = ids.encode("Application", 999999)
    for username in ("mei.lin", "ole.hansen"):
        user = await client.as_user(username, PARTNER_PASSWORD)
        for document in (START, SUBMIT):
            theirs = await user.gql(document, {"id": gid})
            nothing = await user.gql(document, {"id": missing})
            assert theirs == nothing
            assert list(theirs["data"].values())[0]["userErrors"][0]["code"] == "NOT_FOUND"
        assert (await user.data(APPLICATION, {"id": gid})) == {"application": None}


async def test_admin_cannot_take_partner_steps(client, world):
    row = await testing.make_application("SMB_SELECT", world["china"])
    admin = await client.as_user("admin", testing.ADMIN_PASSWORD)
    result = await admin.gql(START, {"id": ids.encode("Application", row.id)})
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_expired_invitation_cannot_be_started(client, world):
    from datetime import datetime, timedelta, timezone

    from smbselect.db.models import Application

    row = await testing.make_application("SMB_SELECT", world["china"])
    await Application.filter(id=row.id).update(invitation_expires_at=datetime.now(timezone.utc) - timedelta(days=1))
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    result = (await li.data(START, {"id": ids.encode("Application", row.id)}))["applicationStart"]
    assert result["userErrors"][0]["code"] == "INVALID_STATUS"
    await row.refresh_from_db()
    assert row.status.value == "EXPIRED"

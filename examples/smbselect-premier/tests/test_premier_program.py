"""SMB Select Premier as the API shows it, and its qualification rules over the real app."""

from __future__ import annotations

from datetime import date, timedelta

from smbselect import ids, testing
from smbselect.db.models import JobAllocation

from smbselect_premier import plugin, terms

PROGRAMS = """{ programs { code name active maxRolesPerPerson reviewDays
  jobRoles { code name acceptedCertifications headcount }
  requiredDocuments { code name acceptedContentTypes maxSizeBytes }
  terms { version locale format text sha256 } } }"""

APPLICATION = """query($id: ID!) { application(id: $id) {
  status program { code }
  jobRoles { code headcount } missingJobRoles { code }
  qualifiedStaff(jobRoleCode: "SALES_ENGINEER") { username }
  submitBlockers { code message jobRoleCode }
} }"""
START = """mutation($id: ID!) { applicationStart(input: {applicationId: $id}) {
  application { status } userErrors { code message } } }"""
SAVE = """mutation($id: ID!, $a: [JobAllocationInput!]!) {
  jobAllocationsSave(input: {applicationId: $id, allocations: $a}) {
    application { missingJobRoles { code } } userErrors { code message field } } }"""


def uid(user) -> str:
    return ids.encode("User", user.id)


async def test_the_plugin_is_loaded_from_its_entry_point(app):
    plugins = app.state.plugins

    assert plugins.owner(plugin.CODE) == "smbselect_premier"
    assert plugins.programs_by_plugin()["smbselect_premier"] == [plugin.CODE]


async def test_program_appears_in_the_catalogue(admin_client):
    # when an admin reads the programs
    data = await admin_client.data(PROGRAMS)

    # then SMB Select Premier is there, next to SMB Select
    by_code = {p["code"]: p for p in data["programs"]}
    assert {"SMB_SELECT", plugin.CODE} <= set(by_code)
    premier = by_code[plugin.CODE]
    assert premier["name"] == "SMB Select Premier"
    assert premier["active"] is True
    assert premier["maxRolesPerPerson"] == 1
    assert premier["jobRoles"] == [{
        "code": "SALES_ENGINEER", "name": "Sales Engineer",
        "acceptedCertifications": ["CSE"], "headcount": 2,
    }]
    assert [(d["code"], d["acceptedContentTypes"]) for d in premier["requiredDocuments"]] == [
        ("BUSINESS_REGISTRATION", ["application/pdf"]),
        ("PARTNER_AGREEMENT", ["application/pdf"]),
    ]
    assert all(0 < d["maxSizeBytes"] <= 20 * 1024 * 1024 for d in premier["requiredDocuments"])
    assert premier["terms"]["locale"] == "tr"
    assert premier["terms"]["version"] == "2026-tr-1"
    assert premier["terms"]["format"] == "PLAIN"
    assert premier["terms"]["text"] == terms.TEXT
    assert "Hüküm ve Koşullar" in premier["terms"]["text"]
    assert premier["terms"]["sha256"] == plugin.PROGRAM.terms.sha256


async def _started_premier_application(partner_client) -> str:
    """A Premier application of the kit's location, started by the kit's partner user."""
    row = await testing.make_application(plugin.CODE, partner_client.location)
    gid = ids.encode("Application", row.id)
    started = await partner_client.data(START, {"id": gid})
    assert started["applicationStart"]["userErrors"] == []
    return gid


async def _staff(location, username: str, **certifications: date | None):
    """A person employed at ``location`` (by its partner) with these certifications."""
    from smbselect.db.models import Partner

    partner = await Partner.get(id=location.partner_id)
    return await testing.make_user(username, partner=partner, staff_of=[location],
                                   certifications=certifications)


async def test_only_cse_holders_qualify_as_sales_engineers(partner_client):
    # given staff of the location: two CSE holders, one CSA only, one with an expired CSE
    location = partner_client.location
    await _staff(location, "cse.one", CSE=None)
    await _staff(location, "cse.two", CSE=date.today() + timedelta(days=365))
    csa = await _staff(location, "csa.only", CSA=None)
    await _staff(location, "old.cse", CSE=date(2020, 1, 1))
    gid = await _started_premier_application(partner_client)

    # when the partner reads the application
    view = (await partner_client.data(APPLICATION, {"id": gid}))["application"]

    # then only the CSE holders are offered, and two Sales Engineers are needed
    assert view["program"] == {"code": plugin.CODE}
    assert view["jobRoles"] == [{"code": "SALES_ENGINEER", "headcount": 2}]
    assert sorted(s["username"] for s in view["qualifiedStaff"]) == ["cse.one", "cse.two"]

    # and allocating the CSA holder is refused, with the plugin's reason
    result = (await partner_client.data(
        SAVE, {"id": gid, "a": [{"jobRoleCode": "SALES_ENGINEER", "userId": uid(csa)}]}
    ))["jobAllocationsSave"]
    assert result["application"] is None
    [error] = result["userErrors"]
    assert error["code"] == "NOT_QUALIFIED"
    assert error["field"] == ["input", "allocations", "0", "userId"]
    assert plugin.CSA_NOT_ENOUGH in error["message"]


async def test_one_person_cannot_fill_both_sales_engineer_places(partner_client):
    location = partner_client.location
    one = await _staff(location, "cse.one", CSE=None)
    gid = await _started_premier_application(partner_client)
    twice = [{"jobRoleCode": "SALES_ENGINEER", "userId": uid(one)}] * 2

    result = (await partner_client.data(SAVE, {"id": gid, "a": twice}))["jobAllocationsSave"]

    assert result["application"] is None
    [error] = result["userErrors"]
    assert error["code"] in ("INVALID", "TOO_MANY_ROLES")
    assert error["field"] == ["input", "allocations", "1", "userId"]
    assert await JobAllocation.all().count() == 0


async def test_two_cse_holders_fill_the_role(partner_client):
    location = partner_client.location
    one = await _staff(location, "cse.one", CSE=None)
    two = await _staff(location, "cse.two", CSE=None)
    gid = await _started_premier_application(partner_client)

    first = (await partner_client.data(
        SAVE, {"id": gid, "a": [{"jobRoleCode": "SALES_ENGINEER", "userId": uid(one)}]}
    ))["jobAllocationsSave"]
    both = (await partner_client.data(SAVE, {"id": gid, "a": [
        {"jobRoleCode": "SALES_ENGINEER", "userId": uid(one)},
        {"jobRoleCode": "SALES_ENGINEER", "userId": uid(two)},
    ]}))["jobAllocationsSave"]

    # one person is not enough for a headcount of 2; two are
    assert first["application"]["missingJobRoles"] == [{"code": "SALES_ENGINEER"}]
    assert both == {"application": {"missingJobRoles": []}, "userErrors": []}
    view = (await partner_client.data(APPLICATION, {"id": gid}))["application"]
    assert "ROLES_MISSING" not in [b["code"] for b in view["submitBlockers"]]

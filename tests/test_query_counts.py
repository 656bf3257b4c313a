"""A page of applications costs the same SQL statements and plugin calls for 10 rows as for 50."""

from __future__ import annotations

from smbselect import ids, testing
from smbselect.db.models import Application, JobAllocation

QUEUE = """query($first: Int!) { applications(first: $first, orderBy: {field: INVITED_AT}) { edges { node {
  id status program { code name } location { name partner { name } }
  jobAllocations { role { code } user { username certifications { code } } }
  missingJobRoles { code } canSubmit submitBlockers { code message jobRoleCode }
  qualifiedStaff(jobRoleCode: "ACCOUNT_MANAGER") { username }
  termsAcceptance { version } documents { filename } requiredDocuments { code } events { kind }
} } } }"""

RULE_METHODS = ("job_roles", "qualify", "required_documents", "submit_blockers")


async def _many_applications(world, count: int) -> None:
    """``count`` started applications, each at its own location of Equant with certified
    staff allocated to one role (so qualifications are checked for every row)."""
    for i in range(count):
        location = await testing.make_location(world["equant"], f"Equant Branch {i:03d}", "AT")
        staff = await testing.make_user(f"staff.{i:03d}", partner=world["equant"], staff_of=[location],
                                        certifications={"CSE": None})
        app = await testing.make_application("SMB_SELECT", location, status="NOT_SUBMITTED")
        await JobAllocation.create(application=app, role_code="ACCOUNT_MANAGER", user=staff)


async def _measure(admin, plugins, monkeypatch, first: int) -> tuple[int, dict[str, int]]:
    calls = {name: 0 for name in RULE_METHODS}
    for name in RULE_METHODS:
        original = getattr(plugins, name)

        def counted(*args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(plugins, name, counted)
    with testing.SqlCounter() as sql:
        data = await admin.data(QUEUE, {"first": first})
    monkeypatch.undo()
    assert len(data["applications"]["edges"]) == first
    return sql.count, calls


async def test_page_of_10_and_of_50_cost_the_same(client, world, app, monkeypatch):
    await _many_applications(world, 50)
    admin = await client.as_user("admin", testing.ADMIN_PASSWORD)
    sql_10, calls_10 = await _measure(admin, app.state.plugins, monkeypatch, 10)
    sql_50, calls_50 = await _measure(admin, app.state.plugins, monkeypatch, 50)
    print(f"\nSQL statements: page of 10 = {sql_10}, page of 50 = {sql_50}; plugin calls {calls_10} / {calls_50}")
    assert sql_10 == sql_50
    assert calls_10 == calls_50


APPROVAL_QUEUE = """query($first: Int!) { applications(first: $first) { edges { node {
  id status program { code name } location { name country partner { name } }
  jobAllocations { role { code name } user { id name username } } submitBlockers { code message jobRoleCode }
} } } }"""


async def test_approval_queue_page_is_at_most_8_statements(client, world):
    """The approval queue page of the performance target (program, location, partner,
    allocations with their users, submitBlockers): at most 8 SQL statements, the session
    lookup included, for 10 rows as for 100."""
    await _many_applications(world, 100)
    admin = await client.as_user("admin", testing.ADMIN_PASSWORD)
    counts = {}
    for first in (10, 100):
        with testing.SqlCounter() as sql:
            data = await admin.data(APPROVAL_QUEUE, {"first": first})
        assert len(data["applications"]["edges"]) == first
        counts[first] = sql.count
    print(f"\napproval queue page: {counts[10]} statements for 10 rows, {counts[100]} for 100")
    assert counts[10] == counts[100] <= 8
    # in fact 3: the session, the page joined with its programs, locations and partners, and
    # everything else of its rows in one statement (smbselect.db.bundle)
    assert counts[10] == 3


DROP_DOWNS = """query($id: ID!) { application(id: $id) { id jobRoles { code name }
  am: qualifiedStaff(jobRoleCode: "ACCOUNT_MANAGER") { username }
  se: qualifiedStaff(jobRoleCode: "SALES_ENGINEER") { username } } }"""


async def test_the_drop_downs_need_no_whole_evaluation(client, world):
    """The job-role drop-downs read the roles (program, location) and the staff with their
    certifications: never the allocations, terms or documents of a full evaluation."""
    await _many_applications(world, 1)
    app = await Application.all().order_by("-id").first()
    admin = await client.as_user("admin", testing.ADMIN_PASSWORD)
    with testing.SqlCounter() as sql:
        data = await admin.data(DROP_DOWNS, {"id": ids.encode("Application", app.id)})
    assert [u["username"] for u in data["application"]["am"]] == ["staff.000"]
    assert data["application"]["jobRoles"]
    tables = " ".join(sql.statements)
    for table in ("job_allocation", "terms_acceptance", '"document"'):
        assert table not in tables, (table, sql.statements)
    print(f"\ndrop-downs of 2 roles: {sql.count} statements")
    assert sql.count <= 7


async def test_the_allocated_peoples_certifications_are_read_once(client, world):
    """The rules check the allocated people's certifications and the page shows them: both
    through the request's loader, one statement for the page."""
    await _many_applications(world, 10)
    admin = await client.as_user("admin", testing.ADMIN_PASSWORD)
    with testing.SqlCounter() as sql:
        data = await admin.data(QUEUE, {"first": 10})
    assert all(e["node"]["jobAllocations"][0]["user"]["certifications"] == [{"code": "CSE"}]
               for e in data["applications"]["edges"])
    reads = [s for s in sql.statements if 'FROM "certification"' in s]
    assert len(reads) == 1, reads


IN_PROGRESS = """query($id: ID!) { node(id: $id) { ... on Location { name
  applications { id status program { code name } } } } }"""


async def test_the_in_progress_table_reads_each_program_with_its_applications(client, world):
    """A location's table joins the program to its applications: no statement of its own
    for the programs, however many the location has."""
    await testing.make_application("SMB_SELECT", world["china"], status="SUBMITTED")
    li = await client.as_user("li.wei", testing.PARTNER_PASSWORD)
    with testing.SqlCounter() as sql:
        data = await li.data(IN_PROGRESS, {"id": ids.encode("Location", world["china"].id)})
    assert [a["program"]["code"] for a in data["node"]["applications"]] == ["SMB_SELECT"]
    assert not [s for s in sql.statements if 'FROM "program"' in s], sql.statements
    assert sql.count <= 4, sql.statements  # session, acting locations, the location, its applications


async def test_a_page_of_submitted_applications_checks_no_qualification(client, world):
    """A SUBMITTED application's blockers are INVALID_STATUS alone: its page reads no
    certification and no staff row to check its people (an approval still checks them:
    test_review), and shows those people from one statement. An editable application on
    the same page is still checked, and its people come from that same statement."""
    await _many_applications(world, 3)
    rows = await Application.all().order_by("id")
    for row in rows[:2]:
        row.status = "SUBMITTED"
        await row.save()
    admin = await client.as_user("admin", testing.ADMIN_PASSWORD)
    query = APPROVAL_QUEUE.replace("applications(first: $first)",
                                   "applications(first: $first, filter: {status: [SUBMITTED]})")
    with testing.SqlCounter() as sql:
        data = await admin.data(query, {"first": 10})
    nodes = [e["node"] for e in data["applications"]["edges"]]
    assert [n["jobAllocations"][0]["user"]["username"] for n in nodes] == ["staff.000", "staff.001"]
    assert all([b["code"] for b in n["submitBlockers"]] == ["INVALID_STATUS"] for n in nodes)
    assert not [s for s in sql.statements if 'FROM "certification"' in s or 'FROM "location_staff"' in s], \
        sql.statements
    # the same page with the editable application: checked, its people read with the others
    with testing.SqlCounter() as sql:
        data = await admin.data(APPROVAL_QUEUE, {"first": 10})
    by_status = {e["node"]["status"]: e["node"] for e in data["applications"]["edges"]}
    assert by_status["NOT_SUBMITTED"]["jobAllocations"][0]["user"]["username"] == "staff.002"
    assert [s for s in sql.statements if 'FROM "certification"' in s]
    assert len([s for s in sql.statements if 'FROM "user" WHERE' in s]) == 1, sql.statements


ONE_WITH_PEOPLE = """query($id: ID!) { application(id: $id) { id canSubmit
  jobAllocations { user { username } } termsAcceptance { user { username } }
  events { kind actor { name user { id } } } } }"""


async def test_one_application_reads_all_its_people_in_one_statement(client, world):
    """The allocated people, the terms' acceptor and the events' actors: the evaluation
    reads them together (the trail first, for its actors), not in a statement each."""
    from datetime import UTC, datetime

    from smbselect.db.models import ApplicationEvent, TermsAcceptance

    await _many_applications(world, 1)
    app = await Application.all().order_by("-id").first()
    now = datetime.now(UTC)
    await TermsAcceptance.create(application=app, user=world["li"], username="li.wei", version="v1",
                                 sha256="1" * 64, accepted_at=now)
    await ApplicationEvent.create(application=app, occurred_at=now, kind="INVITED", actor=world["admin"],
                                  actor_name="Admin", actor_role="ADMIN")
    admin = await client.as_user("admin", testing.ADMIN_PASSWORD)
    with testing.SqlCounter() as sql:
        data = await admin.data(ONE_WITH_PEOPLE, {"id": ids.encode("Application", app.id)})
    found = data["application"]
    assert found["jobAllocations"][0]["user"]["username"] == "staff.000"
    assert found["termsAcceptance"]["user"]["username"] == "li.wei"
    assert found["events"][-1]["actor"]["user"]["id"] == ids.encode("User", world["admin"].id)
    people = [s for s in sql.statements if 'FROM "user" WHERE' in s]
    assert len(people) == 1, sql.statements


HISTORY_ALONE = """query($id: ID!) { application(id: $id) {
  events { kind comment actor { name role user { id } } } emails { to subject status } } }"""
HISTORY_WITH_CHECKS = """query($id: ID!) { application(id: $id) { canSubmit jobAllocations { user { id } }
  events { kind comment actor { name role user { id } } } emails { to subject status } } }"""


async def test_the_trail_and_emails_read_alike_with_and_without_a_prefetch(client, world):
    """Asked beside the evaluated fields, the events and emails are read with the page's
    prefetch and answered without a task; asked alone, by their own reads. Both say the
    same, to an admin (who sees the admin actor's user and the emails) and to a partner (who
    sees neither); and the prefetch adds no statement of its own for the emails."""
    from datetime import UTC, datetime, timedelta

    from smbselect.db.models import ApplicationEvent, EmailMessage

    app = await testing.make_application("SMB_SELECT", world["china"], status="NOT_SUBMITTED")
    now = datetime.now(UTC)
    await ApplicationEvent.create(application=app, occurred_at=now, kind="INVITED", actor=world["admin"],
                                  actor_name="Admin", actor_role="ADMIN", comment="welcome")
    await ApplicationEvent.create(application=app, occurred_at=now + timedelta(seconds=1), kind="STARTED",
                                  actor=world["li"], actor_name="Li Wei", actor_role="PARTNER")
    await EmailMessage.create(application=app, to=["li@example.com"], cc=["mei@example.com"], subject="Invited",
                              body_text="...", message_id="<m1@test>", kind="invitation", queued_at=now,
                              next_attempt_at=now)
    variables = {"id": ids.encode("Application", app.id)}
    admin = await client.as_user("admin", testing.ADMIN_PASSWORD)
    li = await client.as_user("li.wei", testing.PARTNER_PASSWORD)
    for viewer, sees_admin in ((admin, True), (li, False)):
        alone = (await viewer.data(HISTORY_ALONE, variables))["application"]
        with testing.SqlCounter() as sql:
            both = (await viewer.data(HISTORY_WITH_CHECKS, variables))["application"]
        assert [both["events"], both["emails"]] == [alone["events"], alone["emails"]]
        actors = [e["actor"]["user"] for e in alone["events"]]
        assert actors[1] == {"id": ids.encode("User", world["li"].id)}
        assert actors[0] == ({"id": ids.encode("User", world["admin"].id)} if sees_admin else None)
        assert alone["emails"] == ([{"to": ["li@example.com", "mei@example.com"], "subject": "Invited",
                                     "status": "QUEUED"}] if sees_admin else [])
        assert sum('FROM "email_message"' in s for s in sql.statements) == (1 if sees_admin else 0)

"""smbselect.db.bundle reads several lists of rows in one statement, as the plain statements
would (every table's columns, nulls, order, conditions with subqueries), and one application
with everything is read in three statements with the same answer as field by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise import Tortoise

from smbselect import ids, testing
from smbselect.context import Context
from smbselect.db import bundle
from smbselect.db.models import (
    Application,
    ApplicationEvent,
    Certification,
    EmailMessage,
    JobAllocation,
    TermsAcceptance,
    User,
)
from smbselect.db.rows import builder
from smbselect.resolvers import evaluations, history, loaders, rules
from tests.test_rows import _exact, _some_rows


def _values(model: object) -> dict:  # type: ignore[type-arg]
    return {k: (_exact(v), type(v)) for k, v in vars(model).items()}


async def test_every_table_reads_as_its_plain_statement(app, world):  # type: ignore[no-untyped-def]
    await _some_rows(world)
    models = list(Tortoise.apps["models"].values())
    reads = [bundle.Read(m, "1 = 1", order_by=(m._meta.db_pk_column,)) for m in models]
    found = await bundle.read(reads)
    assert len(found) == len(models)
    for model, rows in zip(models, found, strict=True):
        meta = model._meta
        columns = tuple(meta.db_fields)
        selected = ",".join(f'"{c}"' for c in columns)
        _, plain = await meta.db.execute_query(
            f'SELECT {selected} FROM "{meta.db_table}" ORDER BY "{meta.db_pk_column}"')
        assert plain, f"{model.__name__}: no row, so nothing of it would be compared"
        build = builder(model, columns)
        assert [_values(r) for r in rows] == [_values(build(p)) for p in plain], model.__name__


async def test_columns_conditions_subqueries_and_nothing_found(app, world):  # type: ignore[no-untyped-def]
    apps = await _some_rows(world)
    first, second = apps[0].id, apps[1].id
    allocated = 'SELECT "user_id" FROM "job_allocation" WHERE "application_id" IN (?)'
    pairs, people, nothing, terms = await bundle.read([
        bundle.Read(JobAllocation, f'"application_id" IN ({bundle.marks(2)})', (first, second), ("id",),
                    ("application_id", "role_code", "user_id")),
        bundle.Read(User, f'"id" IN ({allocated} UNION SELECT "user_id" FROM "terms_acceptance" WHERE '
                          '"application_id" = ?)', (first, second), ("id",)),
        bundle.Read(Certification, '"user_id" = ?', (-1,), columns=("code",)),
        bundle.Read(TermsAcceptance, '"application_id" = ? AND "withdrawn_at" IS NULL', (second,)),
    ])
    assert pairs == [(first, "SE", world["chen"].id)]
    assert [u.id for u in people] == sorted([world["chen"].id, world["li"].id])
    assert [vars(u) for u in people] == [vars(u) for u in await User.filter(id__in=[u.id for u in people]).order_by("id")]
    assert nothing == []
    assert terms == []  # the second application's acceptance was withdrawn
    assert await bundle.read([]) == []


async def test_inside_a_transaction_it_sees_the_transactions_rows(app, world):  # type: ignore[no-untyped-def]
    from tortoise.transactions import in_transaction

    apps = await _some_rows(world)
    async with in_transaction():
        await JobAllocation.create(application=apps[1], role_code="AM", user=world["li"])
        (inside,) = await bundle.read([bundle.Read(JobAllocation, '"application_id" = ?', (apps[1].id,),
                                                   columns=("role_code",))])
    assert inside == [("AM",)]


ONE = """query($id: ID!) { application(id: $id) {
  id status jobAllocations { role { code name } user { id username certifications { code expiresOn } } }
  missingJobRoles { code } termsAcceptance { version user { username } } requiredDocuments { code }
  missingDocuments { code } documents { filename status uploadedBy { name } } canSubmit
  submitBlockers { code message jobRoleCode documentCode }
  events { kind comment actor { name role user { id } } } emails { to subject status } } }"""

# Each field alone: none of them but the evaluated ones prefetches, so they read through
# the request's loaders, one statement each.
ALONE = ["jobAllocations { role { code name } user { id username certifications { code expiresOn } } }",
         "missingJobRoles { code }", "termsAcceptance { version user { username } }",
         "requiredDocuments { code }", "missingDocuments { code }",
         "documents { filename status uploadedBy { name } }", "canSubmit",
         "submitBlockers { code message jobRoleCode documentCode }",
         "events { kind comment actor { name role user { id } } }", "emails { to subject status }"]


async def _busy_application(world) -> Application:  # type: ignore[no-untyped-def]
    """An editable application with a qualified and an unqualified person allocated, an
    accepted and a withdrawn terms acceptance, a trail and an email."""
    app = await testing.make_application("SMB_SELECT", world["china"], status="NOT_SUBMITTED")
    now = datetime.now(UTC)
    await JobAllocation.create(application=app, role_code="ACCOUNT_MANAGER", user=world["chen"])
    await JobAllocation.create(application=app, role_code="SALES_ENGINEER", user=world["li"])  # not staff
    await TermsAcceptance.create(application=app, user=world["li"], username="li.wei", version="old",
                                 sha256="1" * 64, accepted_at=now - timedelta(days=1), withdrawn_at=now)
    await TermsAcceptance.create(application=app, user=world["li"], username="li.wei", version="v1",
                                 sha256="1" * 64, accepted_at=now)
    await ApplicationEvent.create(application=app, occurred_at=now, kind="INVITED", actor=world["admin"],
                                  actor_name="Admin", actor_role="ADMIN", comment="welcome")
    await ApplicationEvent.create(application=app, occurred_at=now + timedelta(seconds=1), kind="STARTED",
                                  actor=world["li"], actor_name="Li Wei", actor_role="PARTNER")
    await EmailMessage.create(application=app, to=["li@example.com"], subject="Invited", body_text="...",
                              message_id="<m1@test>", kind="invitation", queued_at=now, next_attempt_at=now)
    return app


async def test_one_application_is_three_statements_and_answers_as_field_by_field(client, world):  # type: ignore[no-untyped-def]
    app = await _busy_application(world)
    variables = {"id": ids.encode("Application", app.id)}
    admin = await client.as_user("admin", testing.ADMIN_PASSWORD)
    li = await client.as_user("li.wei", testing.PARTNER_PASSWORD)
    for viewer in (admin, li):
        with testing.SqlCounter() as sql:
            together = (await viewer.data(ONE, variables))["application"]
        # the session, the application with its program and location, and the rest (a
        # partner's view also reads the locations they act for and which actors they may see)
        assert sum(s.startswith(("SELECT (SELECT json", "SELECT ARRAY(")) for s in sql.statements) == 1
        if viewer is admin:
            assert sql.count == 3, sql.statements
        assert together["canSubmit"] is False
        assert "SALES_ENGINEER" in {b["jobRoleCode"] for b in together["submitBlockers"]}  # Li: not staff
        assert together["termsAcceptance"] == {"version": "v1", "user": {"username": "li.wei"}}
        assert [e["kind"] for e in together["events"]] == ["INVITED", "STARTED"]
        for field in ALONE:
            alone = (await viewer.data(f"query($id: ID!) {{ application(id: $id) {{ {field} }} }}",
                                       variables))["application"]
            name = field.split()[0]
            assert alone[name] == together[name], name


async def test_the_prefetch_evaluates_as_the_plain_evaluation(app, world):  # type: ignore[no-untyped-def]
    from smbselect.settings import get_settings

    row = await _busy_application(world)
    submitted = await testing.make_application("SMB_SELECT", world["austria"], status="SUBMITTED")
    await JobAllocation.create(application=submitted, role_code="ACCOUNT_MANAGER", user=world["anna"])
    await JobAllocation.create(application=submitted, role_code="SALES_ENGINEER", user=world["li"])  # not staff
    rows = await Application.filter(id__in=[row.id, submitted.id]).order_by("id")
    plain_ctx = Context(settings=get_settings(), plugins=app.state.plugins)
    plain = await rules.evaluate(plain_ctx, rows, submitted_too=False)
    ctx = Context(settings=get_settings(), plugins=app.state.plugins)
    with testing.SqlCounter() as sql:
        await evaluations.prefetch(ctx, rows, people=True, events=True, emails=True, certifications=True)
    prefetched = {r.id: evaluations.of_now(ctx, r) for r in rows}
    together = [s for s in sql.statements if s.startswith(("SELECT (SELECT json", "SELECT ARRAY("))]
    others = [s for s in sql.statements if s not in together]
    assert len(together) == 1
    assert all('FROM "program"' in s or 'FROM "location"' in s for s in others), others  # not primed here
    for r in rows:
        a, b = prefetched[r.id], plain[r.id]
        assert a is not loaders.MISSING
        assert a.allocations == b.allocations
        assert a.unqualified == b.unqualified
        assert a.blockers() == b.blockers()
        assert (a.terms.id if a.terms else None) == (b.terms.id if b.terms else None)
        assert [d.id for d in a.documents] == [d.id for d in b.documents]
    # the people, their certifications and the trail wait in the request's loaders
    assert loaders.user_by_id(ctx).peek(world["chen"].id).username == "chen.jing"
    assert [c.code for c in loaders.certifications_of(ctx).peek(world["anna"].id)] == ["CSA"]
    assert len(history.trails(ctx).peek(row.id)) == 2
    assert plain[row.id].unqualified  # Li is not China's staff: the check did run
    # a SUBMITTED application's allocations are not checked on a page (submitted_too=False),
    # though Li would fail the check there too
    assert submitted.status not in rules.EDITABLE and not prefetched[submitted.id].unqualified

"""smbselect.db.rows builds the same models as tortoise, faster: every column of every
table, the joined rows of a page (shared between the rows that join them), nulls."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tortoise import Tortoise
from tortoise.expressions import F

from smbselect import testing
from smbselect.db.enums import DocumentStatus
from smbselect.db.models import (
    Application,
    ApplicationEvent,
    Document,
    EmailMessage,
    JobAllocation,
    Location,
    PasswordResetToken,
    Program,
    RateLimit,
    Session,
    TermsAcceptance,
    User,
)
from smbselect.db.rows import builder, rows_where_in, select_related_rows


async def _some_rows(world) -> list[Application]:  # type: ignore[no-untyped-def]
    """Applications of both Equant locations (one program) and Oslo's, with a document, an
    event and an email, so that every kind of column holds a value and a null somewhere."""
    apps = [
        await testing.make_application("SMB_SELECT", world["china"], status="SUBMITTED"),
        await testing.make_application("SMB_SELECT", world["austria"]),
        await testing.make_application("SMB_SELECT", world["oslo"], invited_by=world["admin"],
                                       invited_users=[world["ole"]]),
    ]
    now = datetime.now(UTC)
    apps[0].review_due_on = date(2030, 1, 2)
    apps[0].submitted_at = now
    await apps[0].save()
    await Document.create(application=apps[0], requirement_code="X", filename="a.pdf",
                          content_type="application/pdf", size=3, sha256="0" * 64, storage_name="s1",
                          status=DocumentStatus.ACCEPTED, uploaded_at=now, uploaded_by=world["li"])
    await ApplicationEvent.create(application=apps[0], occurred_at=now, kind="SUBMITTED",
                                  actor=world["li"], actor_name="Li", actor_role="PARTNER",
                                  data={"a": [1, "ü"]})
    await EmailMessage.create(to=["a@example.com"], subject="s", body_text="b", message_id="<m@x>",
                              kind="k", queued_at=now, next_attempt_at=now, application=apps[0])
    await JobAllocation.create(application=apps[0], role_code="SE", user=world["chen"])
    await TermsAcceptance.create(application=apps[0], user=world["li"], username="li.wei", version="v1",
                                 sha256="1" * 64, accepted_at=now)
    await TermsAcceptance.create(application=apps[1], user=world["li"], username="li.wei", version="v1",
                                 sha256="1" * 64, accepted_at=now, withdrawn_at=now)
    await Session.create(user=world["li"], token_hash="2" * 64, expires_at=now + timedelta(days=1))
    await PasswordResetToken.create(user=world["li"], token_hash="3" * 64, expires_at=now)
    await PasswordResetToken.create(user=world["li"], token_hash="4" * 64, expires_at=now, used_at=now)
    await RateLimit.create(key="login:127.0.0.1", window_start=now, count=2)
    return apps


def _exact(value: object) -> object:
    """A datetime as its text and zone: ``==`` says two aware datetimes are equal when they
    name the same instant, even in different zones."""
    if isinstance(value, datetime):
        return value.isoformat(), str(value.tzinfo)
    return value


def _state(model: object) -> dict:  # type: ignore[type-arg]
    return {k: v for k, v in vars(model).items() if not k.startswith("_") or k in ("_partial", "_saved_in_db",
                                                                                   "_custom_generated_pk")}


async def test_builder_makes_what_tortoise_makes_for_every_table(app, world):  # type: ignore[no-untyped-def]
    await _some_rows(world)
    for model in Tortoise.apps["models"].values():
        meta = model._meta
        columns = tuple(meta.db_fields)
        selected = ",".join(f'"{c}"' for c in columns)
        _, rows = await meta.db.execute_query(f'SELECT {selected} FROM "{meta.db_table}"')
        assert rows, f"{model.__name__}: no row, so nothing of it would be compared"
        build = builder(model, columns)
        for row in rows:
            theirs = model._init_from_db(**dict(zip(columns, row)))
            ours = build(row)
            assert {k: _exact(v) for k, v in vars(ours).items()} == {k: _exact(v) for k, v in vars(theirs).items()}, model
            assert {k: type(v) for k, v in vars(ours).items()} == {k: type(v) for k, v in vars(theirs).items()}
            again = build(row)  # SQLite's timestamps now come from the parsed ones remembered
            assert {k: _exact(v) for k, v in vars(again).items()} == {k: _exact(v) for k, v in vars(theirs).items()}


async def test_rows_where_in_as_the_query_builder(app, world):  # type: ignore[no-untyped-def]
    users = [world["li"].id, world["chen"].id, world["admin"].id]
    ours = await rows_where_in(User, "id", users, order_by=("id",))
    theirs = await User.filter(id__in=users).order_by("id")
    assert [vars(u) for u in ours] == [vars(u) for u in theirs]


async def test_a_built_model_can_be_saved(app, world):  # type: ignore[no-untyped-def]
    (user,) = await rows_where_in(User, "id", [world["chen"].id])
    user.name = "Chen Jing (renamed)"
    await user.save()
    again = await User.get(id=world["chen"].id)
    assert again.name == "Chen Jing (renamed)"
    assert again.search_fold.startswith("chen jing (renamed)")


async def test_select_related_rows_as_tortoise(app, world):  # type: ignore[no-untyped-def]
    await _some_rows(world)
    def query():  # type: ignore[no-untyped-def]
        return (Application.all().select_related("program", "location__partner", "invitation")
                .annotate(_sort=F("invited_at")).order_by("id"))

    theirs = await query()
    ours = await select_related_rows(query())
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs, strict=True):
        assert _state(a) == _state(b)
        assert a._sort == b._sort
        assert _state(a.program) == _state(b.program)
        assert a.program.definition == b.program.definition
        assert _state(a.location) == _state(b.location)
        assert _state(a.location.partner) == _state(b.location.partner)
        assert (a.invitation is None) == (b.invitation is None)
        if a.invitation is not None:
            assert _state(a.invitation) == _state(b.invitation)
    # The rows that join the same program (and the same partner) share its object: the
    # program's JSON definition is decoded once per page, not once per row.
    assert ours[0].program is ours[1].program is ours[2].program
    assert ours[0].location.partner is ours[1].location.partner
    assert ours[0].location is not ours[1].location


async def test_select_related_rows_of_nothing(app, world):  # type: ignore[no-untyped-def]
    assert await select_related_rows(Application.filter(id=-1).select_related("program")) == []
    assert isinstance((await Program.all())[0], Program)
    assert await select_related_rows(Location.filter(id=world["china"].id).only("id", "name")) == \
        await Location.filter(id=world["china"].id).only("id", "name")


GONE_QUERY = """query($id: ID!) {
  applications(first: 10, orderBy: {field: INVITED_AT}) { edges { node {
    id program { code name active jobRoles { code name } } jobRoles { code } submitBlockers { code } } } }
  application(id: $id) { program { code name active jobRoles { code } } submitBlockers { code message } }
}"""


async def test_a_program_whose_plugin_is_gone_shows_its_stored_definition(app, client, world):  # type: ignore[no-untyped-def]
    """The page's joined program rows carry the stored definition: a program whose plugin
    was removed reads as it was last registered (inactive), in the list and alone."""
    from smbselect import ids
    from smbselect.plugins import JobRoleDef, ProgramDef, TermsDef, hookimpl
    from smbselect.resolvers.programs import sync_programs

    gone = ProgramDef(code="GONE", name="Gone Program", description="Removed later.",
                      job_roles=(JobRoleDef("FIELD_ENGINEER", "Field Engineer", ("CSE",)),),
                      max_roles_per_person=1, terms=TermsDef(version="1", text="Be nice."))

    class Owner:
        @hookimpl
        def smbselect_programs(self) -> list[ProgramDef]:
            return [gone]

    plugins = app.state.plugins
    plugins.register(Owner(), "gone_owner")
    try:
        await sync_programs(plugins)
        ours = await testing.make_application("GONE", world["china"], status="NOT_SUBMITTED")
        await testing.make_application("SMB_SELECT", world["austria"])
    finally:
        plugins.unregister(name="gone_owner")
    await sync_programs(plugins)

    admin = await client.as_user("admin", testing.ADMIN_PASSWORD)
    data = await admin.data(GONE_QUERY, {"id": ids.encode("Application", ours.id)})
    by_code = {e["node"]["program"]["code"]: e["node"] for e in data["applications"]["edges"]}
    assert by_code["GONE"]["program"] == {"code": "GONE", "name": "Gone Program", "active": False,
                                          "jobRoles": [{"code": "FIELD_ENGINEER", "name": "Field Engineer"}]}
    assert by_code["GONE"]["jobRoles"] == [{"code": "FIELD_ENGINEER"}]
    assert {"code": "PROGRAM_UNAVAILABLE"} in by_code["GONE"]["submitBlockers"]
    assert by_code["SMB_SELECT"]["program"]["active"] is True
    alone = data["application"]
    assert alone["program"] == {"code": "GONE", "name": "Gone Program", "active": False,
                                "jobRoles": [{"code": "FIELD_ENGINEER"}]}
    assert "PROGRAM_UNAVAILABLE" in [b["code"] for b in alone["submitBlockers"]]


async def test_get_with_related_as_tortoise(app, world):  # type: ignore[no-untyped-def]
    from smbselect.db.rows import get_with_related

    apps = await _some_rows(world)
    related = ("program", "location__partner", "invitation")
    for row in apps:
        theirs = await Application.filter(id=row.id).select_related(*related).first()
        ours = await get_with_related(Application, row.id, related)
        assert ours is not None and theirs is not None
        assert _state(ours) == _state(theirs)
        assert _state(ours.program) == _state(theirs.program)
        assert _state(ours.location) == _state(theirs.location)
        assert _state(ours.location.partner) == _state(theirs.location.partner)
        assert (ours.invitation is None) == (theirs.invitation is None)
        if ours.invitation is not None:
            assert _state(ours.invitation) == _state(theirs.invitation)
    china = apps[0]
    assert await get_with_related(Application, -1, related) is None
    assert await get_with_related(Application, china.id, related,
                                  within=("location_id", [world["china"].id, world["oslo"].id])) is not None
    assert await get_with_related(Application, china.id, related, within=("location_id", [world["oslo"].id])) is None
    assert await get_with_related(Application, china.id, related, within=("location_id", [])) is None

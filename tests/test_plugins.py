"""Plugins: the built-in program, validation of definitions, owner-only rule hooks,
partial answers completed by the defaults, errors naming the plugin, and the sync of the
``program`` table.

Every test that registers a plugin unregisters it (the ``registered`` fixture does).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from smbselect.db.models import Program
from smbselect.plugins import (
    ApplicationInfo,
    BlockerDef,
    CandidateInfo,
    CertificationInfo,
    DocumentRequirementDef,
    JobRoleDef,
    LocationInfo,
    ProgramDef,
    Qualification,
    TermsDef,
    hookimpl,
)
from smbselect.plugins import smb_select
from smbselect.plugins.manager import DEFAULTS, Plugins, PluginError, ProgramUnavailable
from smbselect.resolvers.programs import definition_of, sync_programs

TODAY = date(2026, 3, 1)
AUSTRIA = LocationInfo(id=1, partner_id=10, name="Equant Austria", country="AT")
GERMANY = LocationInfo(id=2, partner_id=10, name="Equant Germany", country="DE")

CERTS = ("CSE", "CSA")
CLOUD_ROLE = JobRoleDef("CLOUD_ARCHITECT", "Cloud Architect", ("CCA",))


def test_program(code: str = "TEST_PROGRAM", **changes: Any) -> ProgramDef:
    """A valid program, with ``changes`` applied (to make it invalid)."""
    program = ProgramDef(
        code=code,
        name="Test Program",
        description="A program for tests.",
        job_roles=(JobRoleDef("ENGINEER", "Engineer", ("CSE",)),),
        max_roles_per_person=1,
        terms=TermsDef(version="1", text="Be nice."),
    )
    return replace(program, **changes)


test_program.__test__ = False  # type: ignore[attr-defined]  # a factory, not a test


class ProgramPlugin:
    """A plugin providing given programs, recording every rule-hook call it gets."""

    def __init__(self, *programs: ProgramDef) -> None:
        self.programs = list(programs)
        self.calls: list[str] = []

    @hookimpl
    def smbselect_programs(self) -> list[ProgramDef]:
        return self.programs

    @hookimpl
    def smbselect_job_roles(self, program: ProgramDef) -> None:
        self.calls.append(f"job_roles {program.code}")

    @hookimpl
    def smbselect_qualify(self, program: ProgramDef) -> None:
        self.calls.append(f"qualify {program.code}")

    @hookimpl
    def smbselect_required_documents(self, program: ProgramDef) -> None:
        self.calls.append(f"required_documents {program.code}")

    @hookimpl
    def smbselect_submit_blockers(self, program: ProgramDef) -> None:
        self.calls.append(f"submit_blockers {program.code}")


class AustriaPlugin:
    """Owns AUSTRIA_PROGRAM: a Cloud Architect role in Austria only, and a qualify rule
    that trusts the CCA certification for user 7 only, leaving everyone else to the
    defaults."""

    @hookimpl
    def smbselect_programs(self) -> list[ProgramDef]:
        return [AUSTRIA_PROGRAM]

    @hookimpl
    def smbselect_job_roles(
        self, program: ProgramDef, locations: list[LocationInfo]
    ) -> dict[int, list[JobRoleDef]]:
        return {
            loc.id: [*program.job_roles, CLOUD_ROLE] for loc in locations if loc.country == "AT"
        }

    @hookimpl
    def smbselect_qualify(
        self, role: JobRoleDef, candidates: list[CandidateInfo]
    ) -> list[Qualification] | None:
        if role.code != CLOUD_ROLE.code:
            return None
        return [
            Qualification(c.user_id, False, "Only user 7 may be a Cloud Architect.")
            for c in candidates
            if c.user_id != 7
        ]

    @hookimpl
    def smbselect_submit_blockers(
        self, applications: list[ApplicationInfo]
    ) -> dict[int, list[BlockerDef]]:
        return {
            a.id: [BlockerDef("DOCUMENT_MISSING", "Send the signed NDA by post.")]
            for a in applications
            if a.location.country == "AT"
        }


AUSTRIA_PROGRAM = test_program(
    "AUSTRIA_PROGRAM",
    job_roles=(JobRoleDef("ENGINEER", "Engineer", CERTS),),
    required_documents=(
        DocumentRequirementDef("NDA", "NDA", "The signed NDA.", ("application/pdf",), 10_000_000),
    ),
)


class RaisingPlugin:
    """Owns BROKEN: its qualify rule has a bug."""

    @hookimpl
    def smbselect_programs(self) -> list[ProgramDef]:
        return [test_program("BROKEN")]

    @hookimpl
    def smbselect_qualify(self, candidates: list[CandidateInfo]) -> list[Qualification]:
        return [Qualification(c.user_id, c.certifications[0].code == "CSE") for c in candidates]


@pytest.fixture
def plugins() -> Plugins:
    return Plugins.load(entrypoints=False)


@pytest.fixture
def registered(plugins: Plugins) -> Iterator[Callable[[object, str], None]]:
    """register(plugin, name) for this test only."""
    names: list[str] = []

    def register(plugin: object, name: str) -> None:
        plugins.register(plugin, name)
        names.append(name)

    yield register
    for name in names:
        plugins.unregister(name)


def candidate(user_id: int, *certs: CertificationInfo, active: bool = True, staff: bool = True):
    return CandidateInfo(user_id, f"Person {user_id}", active, staff, certs)


def application(app_id: int, location: LocationInfo, program: str) -> ApplicationInfo:
    return ApplicationInfo(app_id, program, location, "NOT_SUBMITTED")


# ---------------------------------------------------------------------------------------------
# The built-in program
# ---------------------------------------------------------------------------------------------


def test_builtin_smb_select_program(plugins: Plugins) -> None:
    program = plugins.program("SMB_SELECT")

    assert plugins.owner("SMB_SELECT") == "smbselect.plugins.smb_select"
    assert program.name == "SMB Select"
    assert "small and medium" in program.description
    roles = [(r.code, r.name, r.accepted_certifications, r.headcount) for r in program.job_roles]
    assert roles == [
        ("ACCOUNT_MANAGER", "Account Manager", CERTS, 1),
        ("SALES_ENGINEER", "Sales Engineer", CERTS, 1),
        ("FIELD_ENGINEER", "Field Engineer", CERTS, 1),
    ]
    assert program.max_roles_per_person == 2
    assert program.review_days == 5
    assert program.required_documents == ()
    assert program.support_email is None
    assert (program.terms.version, program.terms.format, program.terms.locale) == (
        "2026-01", "PLAIN", "en",
    )
    assert "Data protection" in program.terms.text and "termination" in program.terms.text
    assert program.terms.sha256 == hashlib.sha256(smb_select.TERMS_TEXT.encode()).hexdigest()
    assert plugins.programs_by_plugin() == {
        DEFAULTS: [],
        "smbselect.plugins.smb_select": ["SMB_SELECT"],
    }


def test_builtin_program_uses_the_default_rules(plugins: Plugins) -> None:
    role = plugins.program("SMB_SELECT").job_roles[0]
    people = [
        candidate(1, CertificationInfo("CSE", date(2026, 3, 1))),  # expires today: still valid
        candidate(2, CertificationInfo("CSA")),
        candidate(3, CertificationInfo("CSE", date(2026, 1, 31))),
        candidate(4, CertificationInfo("XYZ")),
        candidate(5, CertificationInfo("CSE"), staff=False),
        candidate(6, CertificationInfo("CSE"), active=False),
    ]

    answer = plugins.qualify("SMB_SELECT", role, people, TODAY)

    assert [(q.user_id, q.qualified, q.reason) for q in answer.values()] == [
        (1, True, None),
        (2, True, None),
        (3, False, "Certification CSE expired on 2026-01-31."),
        (4, False, "No CSE or CSA certification."),
        (5, False, "Not staff of this location."),
        (6, False, "No longer active."),
    ]
    roles = plugins.job_roles("SMB_SELECT", [AUSTRIA, GERMANY])
    assert roles == {1: list(plugins.program("SMB_SELECT").job_roles)} | {
        2: list(plugins.program("SMB_SELECT").job_roles)
    }
    apps = [application(100, AUSTRIA, "SMB_SELECT")]
    assert plugins.required_documents("SMB_SELECT", apps) == {100: []}
    assert plugins.submit_blockers("SMB_SELECT", apps) == {100: []}


def test_unknown_program_is_unavailable(plugins: Plugins) -> None:
    with pytest.raises(ProgramUnavailable):
        plugins.job_roles("NO_SUCH_PROGRAM", [AUSTRIA])


# ---------------------------------------------------------------------------------------------
# Definitions
# ---------------------------------------------------------------------------------------------


def test_program_definition_json_round_trip() -> None:
    program = AUSTRIA_PROGRAM

    data = program.to_json()

    assert ProgramDef.from_json(data) == program
    assert ProgramDef.from_json(data).to_json() == data
    assert ProgramDef.from_json(smb_select.PROGRAM.to_json()) == smb_select.PROGRAM
    # JSON has no tuples: what the database gives back must read the same.
    assert ProgramDef.from_json(json.loads(json.dumps(data))) == program


def test_lists_become_tuples() -> None:
    role = JobRoleDef("R", "Role", ["CSE"])  # type: ignore[arg-type]

    assert role.accepted_certifications == ("CSE",)
    assert hash(role)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"job_roles": (JobRoleDef("ENGINEER", "Engineer", ()),)}, "accepts no certification"),
        ({"job_roles": (JobRoleDef("ENGINEER", "Engineer", CERTS, 0),)}, "headcount is 0"),
        ({"max_roles_per_person": 0}, "max_roles_per_person is 0"),
        ({"review_days": -1}, "review_days is -1"),
        ({"name": " "}, "name is empty"),
        ({"job_roles": (JobRoleDef("", "Engineer", CERTS),)}, "a role has an empty code"),
        (
            {"job_roles": (JobRoleDef("E", "Engineer", CERTS), JobRoleDef("E", "Other", CERTS))},
            "role 'E' is defined twice",
        ),
        ({"terms": TermsDef("1", "Be nice.", format="HTML")}, "terms format is 'HTML'"),
        (
            {"required_documents": (DocumentRequirementDef("NDA", "NDA", "", (), 100),)},
            "document 'NDA': accepts no content type",
        ),
    ],
)
def test_invalid_definition_names_plugin_and_program(
    plugins: Plugins, registered: Callable[[object, str], None], changes: dict, problem: str
) -> None:
    registered(ProgramPlugin(test_program("BAD", **changes)), "acme_programs")

    with pytest.raises(PluginError) as caught:
        plugins.programs()

    message = str(caught.value)
    assert message.startswith("plugin 'acme_programs': program 'BAD': ")
    assert problem in message
    assert caught.value.plugin == "acme_programs"


def test_empty_program_code_is_invalid(
    plugins: Plugins, registered: Callable[[object, str], None]
) -> None:
    registered(ProgramPlugin(test_program("")), "acme_programs")

    with pytest.raises(PluginError, match="plugin 'acme_programs': program '': code is empty"):
        plugins.programs()


def test_duplicate_program_code_across_plugins(
    plugins: Plugins, registered: Callable[[object, str], None]
) -> None:
    registered(ProgramPlugin(test_program("SMB_SELECT")), "acme_programs")

    with pytest.raises(PluginError) as caught:
        plugins.programs()

    assert str(caught.value) == (
        "plugin 'acme_programs': program 'SMB_SELECT': "
        "code already provided by plugin 'smbselect.plugins.smb_select'"
    )


def test_misspelt_hook_is_refused(plugins: Plugins) -> None:
    class Typo:
        @hookimpl
        def smbselect_qualifiy(self) -> None: ...

    with pytest.raises(PluginError, match="plugin 'typo'"):
        plugins.register(Typo(), "typo")
    assert "typo" not in plugins.plugin_names()


def test_unregister_invalidates_the_cache(plugins: Plugins) -> None:
    plugins.register(ProgramPlugin(test_program("EXTRA")), "extra")
    assert "EXTRA" in plugins.programs()

    plugins.unregister("extra")

    assert "EXTRA" not in plugins.programs()


def test_load_names_a_module_that_cannot_be_imported() -> None:
    with pytest.raises(PluginError, match="plugin 'no_such_module_xyz': cannot be imported"):
        Plugins.load(["no_such_module_xyz"], entrypoints=False)


# ---------------------------------------------------------------------------------------------
# Rule hooks: the owner, then the defaults
# ---------------------------------------------------------------------------------------------


def test_owner_overrides_job_roles_for_one_country(
    plugins: Plugins, registered: Callable[[object, str], None]
) -> None:
    registered(AustriaPlugin(), "austria")

    roles = plugins.job_roles("AUSTRIA_PROGRAM", [AUSTRIA, GERMANY])

    assert [r.code for r in roles[AUSTRIA.id]] == ["ENGINEER", "CLOUD_ARCHITECT"]
    assert [r.code for r in roles[GERMANY.id]] == ["ENGINEER"]  # the default


def test_owner_overrides_qualify_for_some_candidates(
    plugins: Plugins, registered: Callable[[object, str], None]
) -> None:
    registered(AustriaPlugin(), "austria")
    people = [candidate(7), candidate(8, CertificationInfo("CCA"))]

    cloud = plugins.qualify("AUSTRIA_PROGRAM", CLOUD_ROLE, people, TODAY)
    engineer = plugins.qualify("AUSTRIA_PROGRAM", AUSTRIA_PROGRAM.job_roles[0], people, TODAY)

    # user 8 answered by the plugin; user 7 left to the defaults, which want a CCA.
    assert cloud == {
        7: Qualification(7, False, "No CCA certification."),
        8: Qualification(8, False, "Only user 7 may be a Cloud Architect."),
    }
    assert engineer == {
        7: Qualification(7, False, "No CSE or CSA certification."),
        8: Qualification(8, False, "No CSE or CSA certification."),
    }


def test_owner_documents_and_blockers(
    plugins: Plugins, registered: Callable[[object, str], None]
) -> None:
    registered(AustriaPlugin(), "austria")
    apps = [application(1, AUSTRIA, "AUSTRIA_PROGRAM"), application(2, GERMANY, "AUSTRIA_PROGRAM")]

    documents = plugins.required_documents("AUSTRIA_PROGRAM", apps)
    blockers = plugins.submit_blockers("AUSTRIA_PROGRAM", apps)

    assert documents == {1: list(AUSTRIA_PROGRAM.required_documents)} | {
        2: list(AUSTRIA_PROGRAM.required_documents)
    }
    assert blockers == {1: [BlockerDef("DOCUMENT_MISSING", "Send the signed NDA by post.")], 2: []}


def test_rule_hooks_of_a_plugin_not_owning_the_program_are_not_called(
    plugins: Plugins, registered: Callable[[object, str], None]
) -> None:
    other = ProgramPlugin(test_program("OTHER"))
    registered(other, "other")
    apps = [application(1, AUSTRIA, "SMB_SELECT")]
    role = plugins.program("SMB_SELECT").job_roles[0]

    plugins.job_roles("SMB_SELECT", [AUSTRIA])
    plugins.qualify("SMB_SELECT", role, [candidate(1)], TODAY)
    plugins.required_documents("SMB_SELECT", apps)
    plugins.submit_blockers("SMB_SELECT", apps)
    assert other.calls == []

    plugins.job_roles("OTHER", [AUSTRIA])
    assert other.calls == ["job_roles OTHER"]


def test_stored_definition_of_a_vanished_program_gets_the_defaults(plugins: Plugins) -> None:
    gone = test_program("GONE")

    roles = plugins.job_roles(gone, [AUSTRIA])

    assert roles == {AUSTRIA.id: list(gone.job_roles)}


def test_a_raising_plugin_gives_plugin_error_and_a_log_line(
    plugins: Plugins,
    registered: Callable[[object, str], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    registered(RaisingPlugin(), "fragile")
    role = plugins.program("BROKEN").job_roles[0]

    with caplog.at_level(logging.ERROR, logger="smbselect.plugins"):
        with pytest.raises(PluginError) as caught:
            plugins.qualify("BROKEN", role, [candidate(1)], TODAY)

    assert caught.value.plugin == "fragile"
    assert str(caught.value).startswith(
        "plugin 'fragile': program 'BROKEN': smbselect_qualify raised IndexError"
    )
    assert isinstance(caught.value.__cause__, IndexError)
    [record] = [r for r in caplog.records if r.name == "smbselect.plugins"]
    assert record.levelno == logging.ERROR
    assert "'fragile'" in record.getMessage()


def test_a_malformed_answer_names_the_plugin(
    plugins: Plugins, registered: Callable[[object, str], None]
) -> None:
    class Sloppy(ProgramPlugin):
        @hookimpl
        def smbselect_job_roles(  # type: ignore[override]
            self, locations: list[LocationInfo]
        ) -> dict[int, list[JobRoleDef]]:
            return {loc.id: [JobRoleDef("X", "X", ())] for loc in locations}

    registered(Sloppy(test_program("SLOPPY")), "sloppy")

    with pytest.raises(PluginError, match="plugin 'sloppy': program 'SLOPPY': .*accepts no"):
        plugins.job_roles("SLOPPY", [AUSTRIA])


# ---------------------------------------------------------------------------------------------
# Notification and observer hooks
# ---------------------------------------------------------------------------------------------


EMAIL = {"to": ["anna@equant.test"], "cc": [], "subject": "Hi", "text": "Hello", "html": None}


def test_email_left_replaced_or_suppressed(
    plugins: Plugins, registered: Callable[[object, str], None]
) -> None:
    assert plugins.email(None, "password_reset", "en", EMAIL) == EMAIL

    class Mailer:
        @hookimpl
        def smbselect_email(self, program: ProgramDef | None, event: str, email: dict):
            if event == "quiet":
                return {"suppress": True}
            if program is not None and program.code == "SMB_SELECT":
                return {**email, "subject": "[SMB Select] " + email["subject"]}
            return None

    registered(Mailer(), "mailer")
    smb = plugins.program("SMB_SELECT")

    assert plugins.email(smb, "submitted", "en", EMAIL) == {**EMAIL, "subject": "[SMB Select] Hi"}
    assert plugins.email(None, "submitted", "en", EMAIL) == EMAIL
    assert plugins.email(smb, "quiet", "en", EMAIL) is None


async def test_every_observer_is_called_even_after_one_fails(
    plugins: Plugins, registered: Callable[[object, str], None]
) -> None:
    seen: list[tuple[str, Any]] = []

    class Sync:
        @hookimpl
        def smbselect_event(self, event: dict) -> None:
            seen.append(("sync", event["kind"]))

    class Async:
        @hookimpl
        async def smbselect_event(self, event: dict) -> None:
            seen.append(("async", event["kind"]))
            raise RuntimeError("CRM down")

    class Late:
        @hookimpl(trylast=True)
        def smbselect_event(self, event: dict) -> None:
            seen.append(("late", event["kind"]))

    registered(Sync(), "sync")
    registered(Async(), "crm")
    registered(Late(), "late")

    with pytest.raises(PluginError, match="plugin 'crm': smbselect_event raised RuntimeError"):
        await plugins.notify_event({"kind": "SUBMITTED", "application_id": 1})

    assert sorted(seen) == [("async", "SUBMITTED"), ("late", "SUBMITTED"), ("sync", "SUBMITTED")]
    assert seen[-1][0] == "late"


# ---------------------------------------------------------------------------------------------
# The program table
# ---------------------------------------------------------------------------------------------


async def test_sync_programs_marks_a_vanished_program_inactive(
    db: str, plugins: Plugins, registered: Callable[[object, str], None]
) -> None:
    extra = test_program("EXTRA")
    registered(ProgramPlugin(extra), "extra")

    await sync_programs(plugins)

    rows = {p.code: p for p in await Program.all()}
    assert {code: (p.plugin, p.active) for code, p in rows.items()} == {
        "SMB_SELECT": ("smbselect.plugins.smb_select", True),
        "EXTRA": ("extra", True),
    }
    assert rows["EXTRA"].definition == extra.to_json()

    # when the plugin is gone
    plugins.unregister("extra")
    await sync_programs(plugins)

    gone = await Program.get(code="EXTRA")
    assert gone.active is False
    assert definition_of(gone, plugins) == extra  # the stored copy
    assert (await Program.get(code="SMB_SELECT")).active is True
    smb = await Program.get(code="SMB_SELECT")
    assert definition_of(smb, plugins) is plugins.program("SMB_SELECT")

    # and back again
    plugins.register(ProgramPlugin(extra), "extra")
    await sync_programs(plugins)
    assert (await Program.get(code="EXTRA")).active is True


def test_a_blocker_code_that_is_not_an_error_code_is_the_plugins_error() -> None:
    from smbselect.plugins import hookimpl
    from smbselect.plugins.definitions import ApplicationInfo, BlockerDef, LocationInfo
    from smbselect.plugins.manager import PluginError, Plugins

    class Owner:
        @hookimpl
        def smbselect_programs(self):
            from smbselect.plugins.smb_select import PROGRAM

            return [PROGRAM.__class__(**{**{f: getattr(PROGRAM, f) for f in PROGRAM.__dataclass_fields__},
                                         "code": "OWNED"})]

        @hookimpl
        def smbselect_submit_blockers(self, program, applications):
            return {a.id: [BlockerDef("NDA", "Send the NDA.")] for a in applications}

    plugins = Plugins.load(entrypoints=False)
    plugins.register(Owner(), "owner")
    info = ApplicationInfo(1, "OWNED", LocationInfo(1, 1, "L", "AT"), "NOT_SUBMITTED")
    with pytest.raises(PluginError, match="owner.*'NDA'"):
        plugins.submit_blockers("OWNED", [info])

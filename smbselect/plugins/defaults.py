"""The built-in rules, a plugin like any other, registered ``trylast``.

Because these implementations run after the program's own plugin, a program owner
overrides a rule by answering the hook (for all items or only some: the manager asks this
module for the items the owner left out). Everything here is pure: frozen data in, frozen
data out.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from smbselect.plugins.definitions import (
    ApplicationInfo,
    BlockerDef,
    CandidateInfo,
    DocumentRequirementDef,
    JobRoleDef,
    LocationInfo,
    ProgramDef,
    Qualification,
)
from smbselect.plugins.hookspecs import hookimpl


@hookimpl(trylast=True)
def smbselect_job_roles(
    program: ProgramDef, locations: list[LocationInfo]
) -> dict[int, list[JobRoleDef]]:
    """Every location fills the program's general roles."""
    return {loc.id: list(program.job_roles) for loc in locations}


@hookimpl(trylast=True)
def smbselect_qualify(
    role: JobRoleDef, candidates: list[CandidateInfo], today: date
) -> list[Qualification]:
    """Active staff of the location holding an accepted, unexpired certification qualify."""
    return [qualify_one(role, candidate, today) for candidate in candidates]


@hookimpl(trylast=True)
def smbselect_required_documents(
    program: ProgramDef, applications: list[ApplicationInfo]
) -> dict[int, list[DocumentRequirementDef]]:
    """Every application uploads the program's general document catalogue."""
    return {app.id: list(program.required_documents) for app in applications}


@hookimpl(trylast=True)
def smbselect_submit_blockers() -> dict[int, list[BlockerDef]]:
    """No blockers beyond the core's own checks."""
    return {}


@hookimpl(trylast=True)
def smbselect_email() -> dict[str, Any] | None:
    """Send emails as the core wrote them."""
    return None


def qualify_one(role: JobRoleDef, candidate: CandidateInfo, today: date) -> Qualification:
    """The default rule for one person, with the first reason that disqualifies them.

    The order matters for the message: someone who left the company is told that, not
    that their certificate expired.
    """
    if not candidate.active:
        return Qualification(candidate.user_id, False, "No longer active.")
    if not candidate.is_staff:
        return Qualification(candidate.user_id, False, "Not staff of this location.")
    accepted = set(role.accepted_certifications)
    held = [c for c in candidate.certifications if c.code in accepted]
    if any(c.expires_on is None or c.expires_on >= today for c in held):
        return Qualification(candidate.user_id, True, None)
    if held:
        # All accepted certifications have expired: name the one that lapsed last, the
        # one the person most likely thinks is still valid.
        last = max(held, key=lambda c: c.expires_on or date.max)
        assert last.expires_on is not None
        return Qualification(
            candidate.user_id,
            False,
            f"Certification {last.code} expired on {last.expires_on.isoformat()}.",
        )
    return Qualification(
        candidate.user_id,
        False,
        f"No {_either(role.accepted_certifications)} certification.",
    )


def _either(codes: tuple[str, ...]) -> str:
    """"CSE", "CSE or CSA", "A, B or C"."""
    if len(codes) <= 1:
        return "".join(codes)
    return f"{', '.join(codes[:-1])} or {codes[-1]}"

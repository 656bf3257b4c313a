"""A program for the end-to-end test: SMB Select's roles plus one required PDF document."""

from __future__ import annotations

from smbselect.plugins.definitions import DocumentRequirementDef, JobRoleDef, ProgramDef, TermsDef
from smbselect.plugins.hookspecs import hookimpl

PROGRAM = ProgramDef(
    code="SMB_DOCS",
    name="SMB Select Plus",
    description="SMB Select with a signed partner agreement on file.",
    job_roles=(
        JobRoleDef("ACCOUNT_MANAGER", "Account Manager", ("CSE", "CSA")),
        JobRoleDef("SALES_ENGINEER", "Sales Engineer", ("CSE",)),
    ),
    max_roles_per_person=2,
    terms=TermsDef(version="plus-1", text="Plus terms: be excellent to each other.\n"),
    review_days=5,
    required_documents=(
        DocumentRequirementDef(
            "PARTNER_AGREEMENT", "Signed partner agreement", "The agreement, signed, as a PDF.",
            ("application/pdf",), 1_000_000,
        ),
    ),
)


@hookimpl
def smbselect_programs() -> list[ProgramDef]:
    return [PROGRAM]

"""The benchmark's second program, "SMB Select Pro", registered as an ordinary plugin.

It differs from SMB Select where the cost of a request could differ: two documents are
required, one of its roles needs two people, and it answers two rule hooks itself (a
submit blocker per missing document, and a qualification rule), so the benchmark's pages
ask the plugin manager for more than the defaults. Load it with
``SMBSELECT_PLUGINS=bench.second_program`` (the benchmark does).
"""

from __future__ import annotations

from datetime import date

from smbselect.plugins import (
    ApplicationInfo,
    BlockerDef,
    CandidateInfo,
    DocumentRequirementDef,
    JobRoleDef,
    ProgramDef,
    Qualification,
    TermsDef,
    hookimpl,
)

CODE = "SMB_SELECT_PRO"
TECHNICAL_LEAD = "TECHNICAL_LEAD"
SUPPORT_ENGINEER = "SUPPORT_ENGINEER"
PDF = ("application/pdf",)
MAX_BYTES = 5 * 1024 * 1024

DOCUMENTS = (
    DocumentRequirementDef(
        code="BUSINESS_REGISTRATION",
        name="Business registration certificate",
        description="The company's current trade registry certificate, as a PDF.",
        accepted_content_types=PDF,
        max_size_bytes=MAX_BYTES,
    ),
    DocumentRequirementDef(
        code="PARTNER_AGREEMENT",
        name="Signed partner agreement",
        description="The SMB Select Pro partner agreement, signed, as a PDF.",
        accepted_content_types=PDF,
        max_size_bytes=MAX_BYTES,
    ),
)

PROGRAM = ProgramDef(
    code=CODE,
    name="SMB Select Pro",
    description=(
        "The benchmark's second program: a technical lead certified CSE and a support "
        "engineer certified CSE or CSA, two documents, one role per person."
    ),
    job_roles=(
        JobRoleDef(TECHNICAL_LEAD, "Technical Lead", ("CSE",), headcount=1),
        JobRoleDef(SUPPORT_ENGINEER, "Support Engineer", ("CSE", "CSA"), headcount=1),
    ),
    max_roles_per_person=1,
    terms=TermsDef(
        version="2026-02",
        text="SMB Select Pro terms and conditions (benchmark data): the partner names certified "
        "staff, keeps their certifications valid and uploads the documents the program asks for.",
        format="PLAIN",
        locale="en",
    ),
    review_days=10,
    required_documents=DOCUMENTS,
    support_email=None,
)

NOT_ACTIVE = "No longer active."


@hookimpl
def smbselect_programs() -> list[ProgramDef]:
    return [PROGRAM]


@hookimpl
def smbselect_qualify(
    role: JobRoleDef, candidates: list[CandidateInfo], today: date
) -> list[Qualification] | None:
    """An inactive person is refused here with the program's own words; the defaults
    answer for everyone else."""
    return [Qualification(c.user_id, False, NOT_ACTIVE) for c in candidates if not c.active]


@hookimpl
def smbselect_submit_blockers(applications: list[ApplicationInfo]) -> dict[int, list[BlockerDef]]:
    """Each required document needs an upload that was not rejected."""
    out: dict[int, list[BlockerDef]] = {}
    for app in applications:
        have = {code for code, status in app.documents if status != "REJECTED"}
        out[app.id] = [
            BlockerDef("DOCUMENT_MISSING", f"Upload the {d.name.lower()}.", document_code=d.code)
            for d in DOCUMENTS
            if d.code not in have
        ]
    return out

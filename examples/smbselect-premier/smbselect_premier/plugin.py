"""SMB Select Premier: the program definition and its hooks.

This is the module the ``smbselect`` entry point names. It implements three hooks:

* ``smbselect_programs``: the program (two PDF documents, two Sales Engineers holding a
  CSE, one role per person, Turkish terms);
* ``smbselect_qualify``: a rule hook, asked only for this program, that tells a person
  holding only a CSA why that is not enough; everyone else is left to the built-in rule;
* ``smbselect_email``: asked for every email of every program, it makes this program's
  emails bilingual (Turkish, then English) and leaves all the others alone.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from smbselect.plugins import (
    CandidateInfo,
    DocumentRequirementDef,
    JobRoleDef,
    ProgramDef,
    Qualification,
    TermsDef,
    hookimpl,
)

from smbselect_premier import emails, terms

CODE = "SMB_SELECT_PREMIER"
SALES_ENGINEER = "SALES_ENGINEER"
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024  # a scanned, signed contract is a few MB
PDF = ("application/pdf",)

PROGRAM = ProgramDef(
    code=CODE,
    name="SMB Select Premier",
    description=(
        "SMB Select Premier is the partner program for companies in Türkiye that sell to and "
        "support small and medium businesses at the highest level. A Premier location names "
        "two Sales Engineers certified CSE, files its business registration certificate and "
        "the signed partner agreement, accepts the program's terms (in Turkish) and, once "
        "approved, gets Premier pricing, sales leads, demonstration equipment and priority "
        "technical support."
    ),
    job_roles=(
        JobRoleDef(SALES_ENGINEER, "Sales Engineer", ("CSE",), headcount=2),
    ),
    max_roles_per_person=1,
    terms=TermsDef(version=terms.VERSION, text=terms.TEXT, format="PLAIN", locale=terms.LOCALE),
    review_days=10,
    required_documents=(
        DocumentRequirementDef(
            code="BUSINESS_REGISTRATION",
            name="Business registration certificate",
            description=(
                "The company's current trade registry certificate (Ticaret Sicili kayıt "
                "belgesi), issued in the last six months, as a PDF."
            ),
            accepted_content_types=PDF,
            max_size_bytes=MAX_DOCUMENT_BYTES,
        ),
        DocumentRequirementDef(
            code="PARTNER_AGREEMENT",
            name="Signed partner agreement",
            description=(
                "The SMB Select Premier partner agreement, signed by an authorised signatory "
                "of the company, as a PDF."
            ),
            accepted_content_types=PDF,
            max_size_bytes=MAX_DOCUMENT_BYTES,
        ),
    ),
    support_email=None,  # the service's support_email setting
)

CSA_NOT_ENOUGH = "A CSA is not enough: SMB Select Premier Sales Engineers need a CSE."


@hookimpl
def smbselect_programs() -> list[ProgramDef]:
    return [PROGRAM]


@hookimpl
def smbselect_qualify(
    role: JobRoleDef, candidates: list[CandidateInfo], today: date
) -> list[Qualification] | None:
    """Answer only for active staff who hold a valid CSA but no CSE at all; the built-in
    rule answers for everyone else (and gives the usual reasons)."""
    if "CSA" in role.accepted_certifications:
        return None  # a role of this program that would accept a CSA: nothing to explain
    answer = []
    for person in candidates:
        held = {c.code for c in person.certifications
                if c.expires_on is None or c.expires_on >= today}
        codes = {c.code for c in person.certifications}
        if person.active and person.is_staff and "CSA" in held and "CSE" not in codes:
            answer.append(Qualification(person.user_id, False, CSA_NOT_ENOUGH))
    return answer


@hookimpl
def smbselect_email(
    program: ProgramDef | None, event: str, language: str, email: dict[str, Any]
) -> dict[str, Any] | None:
    """Turkish first, then the English original; only for this program's emails, and only
    when the core wrote them in English."""
    if program is None or program.code != CODE or language != "en":
        return None
    return emails.bilingual(program, event, email)

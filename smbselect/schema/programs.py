"""GraphQL shapes of programs: Program, JobRole, DocumentRequirement, Terms."""

from __future__ import annotations

from functools import lru_cache

import strawberry

from smbselect.plugins.definitions import DocumentRequirementDef, JobRoleDef, ProgramDef
from smbselect.resolvers import programs
from smbselect.schema.base import Info, Node, global_id
from smbselect.schema.enums import TextFormat


@strawberry.type(name="JobRole")
class JobRole:
    code: str
    name: str
    accepted_certifications: list[str] = strawberry.field(
        description="Any one of these certifications, unexpired, qualifies a person for the role."
    )
    headcount: int = strawberry.field(description="How many different people the role needs (usually 1).")

    @classmethod
    def of(cls, role: JobRoleDef) -> JobRole:
        """One object per role (by value): a queue page shows a role in each of its rows'
        allocations and missing roles, and the output only reads it."""
        return _job_role(role)


@strawberry.type(name="DocumentRequirement")
class DocumentRequirement:
    code: str
    name: str
    description: str
    accepted_content_types: list[str] = strawberry.field(
        description="MIME types accepted, checked against the file's content."
    )
    max_size_bytes: int

    @classmethod
    def of(cls, doc: DocumentRequirementDef) -> DocumentRequirement:
        """One object per requirement (by value), as :meth:`JobRole.of`."""
        return _document_requirement(doc)


@lru_cache(maxsize=1024)
def _job_role(role: JobRoleDef) -> JobRole:
    return JobRole(
        code=role.code,
        name=role.name,
        accepted_certifications=list(role.accepted_certifications),
        headcount=role.headcount,
    )


@lru_cache(maxsize=1024)
def _document_requirement(doc: DocumentRequirementDef) -> DocumentRequirement:
    return DocumentRequirement(
        code=doc.code,
        name=doc.name,
        description=doc.description,
        accepted_content_types=list(doc.accepted_content_types),
        max_size_bytes=doc.max_size_bytes,
    )


@strawberry.type(name="Terms")
class Terms:
    version: str
    text: str
    format: TextFormat
    locale: str = strawberry.field(description="BCP 47 language tag of the text.")
    sha256: str = strawberry.field(
        description="SHA-256 (hex) of the exact text, so an acceptance pins what was shown."
    )


@strawberry.type(name="Program")
class Program(Node):
    definition: strawberry.Private[ProgramDef]
    id: strawberry.ID
    code: str
    name: str
    description: str
    max_roles_per_person: int = strawberry.field(description="Per application.")
    review_days: int = strawberry.field(description="Business days the review is expected to take.")
    support_email: str
    active: bool = strawberry.field(
        description="false when no plugin provides the program any more: its applications stay "
        "readable, no new invitations."
    )

    @classmethod
    def of(cls, view: programs.ProgramView) -> Program:
        d = view.definition
        return cls(
            definition=d,
            id=global_id("Program", view.id),
            code=d.code,
            name=d.name,
            description=d.description,
            max_roles_per_person=d.max_roles_per_person,
            review_days=d.review_days,
            support_email=view.support_email,
            active=view.active,
        )

    @strawberry.field(
        description="The program's general job roles; an application's own "
        "(Application.jobRoles) may differ by location."
    )
    def job_roles(self) -> list[JobRole]:
        return [JobRole.of(r) for r in self.definition.job_roles]

    @strawberry.field(
        description="The program's general document catalogue; see Application.requiredDocuments."
    )
    def required_documents(self) -> list[DocumentRequirement]:
        return [DocumentRequirement.of(d) for d in self.definition.required_documents]

    @strawberry.field
    def terms(self) -> Terms:
        t = self.definition.terms
        return Terms(
            version=t.version, text=t.text, format=TextFormat[t.format], locale=t.locale, sha256=t.sha256
        )


@strawberry.type
class ProgramQuery:
    @strawberry.field
    async def programs(self, info: Info) -> list[Program]:
        return [Program.of(v) for v in await programs.list_programs(info.context)]

"""Plain, immutable data exchanged with plugins: program definitions and rule-hook inputs.

Nothing here touches the database or GraphQL. A plugin describes its program with these
classes, and the rule hooks receive and return them, so a plugin can be written and tested
without the ORM, and the core can hand the same frozen values to any number of plugins
without fear that one of them changes what the next one sees.

Sequences are tuples so that the values are hashable and really immutable; a plugin that
passes a list gets it turned into a tuple, which is kinder than a TypeError at hash time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any, TypedDict

TEXT_FORMATS: tuple[str, ...] = ("PLAIN", "MARKDOWN")

# The database columns that hold these codes are VARCHAR(64) (Program.code,
# JobAllocation.role_code, Document.requirement_code).
MAX_CODE_LENGTH = 64
MAX_NAME_LENGTH = 200


def _freeze(obj: object, *names: str) -> None:
    """Turn list attributes of a frozen dataclass into tuples (frozen: via object.__setattr__)."""
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, tuple):
            object.__setattr__(obj, name, tuple(value))


# ---------------------------------------------------------------------------------------------
# Program definitions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobRoleDef:
    """A job role an application must fill, e.g. Account Manager.

    A person qualifies by holding any one of ``accepted_certifications``, unexpired;
    ``headcount`` is how many different people the role needs.
    """

    code: str
    name: str
    accepted_certifications: tuple[str, ...]
    headcount: int = 1

    def __post_init__(self) -> None:
        _freeze(self, "accepted_certifications")

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "accepted_certifications": list(self.accepted_certifications),
            "headcount": self.headcount,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobRoleDef:
        return cls(
            code=data["code"],
            name=data["name"],
            accepted_certifications=tuple(data["accepted_certifications"]),
            headcount=data.get("headcount", 1),
        )


@dataclass(frozen=True, slots=True)
class DocumentRequirementDef:
    """A document the partner must upload, e.g. a signed NDA, with what files are accepted."""

    code: str
    name: str
    description: str
    accepted_content_types: tuple[str, ...]
    max_size_bytes: int

    def __post_init__(self) -> None:
        _freeze(self, "accepted_content_types")

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "description": self.description,
            "accepted_content_types": list(self.accepted_content_types),
            "max_size_bytes": self.max_size_bytes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DocumentRequirementDef:
        return cls(
            code=data["code"],
            name=data["name"],
            description=data["description"],
            accepted_content_types=tuple(data["accepted_content_types"]),
            max_size_bytes=data["max_size_bytes"],
        )


@dataclass(frozen=True, slots=True)
class TermsDef:
    """The terms and conditions of a program, in one version and one language.

    An acceptance records ``version`` and ``sha256``: the hash pins the exact text that was
    shown, so a plugin that edits the text without bumping the version is still caught.
    """

    version: str
    text: str
    format: str = "PLAIN"
    locale: str = "en"

    @property
    def sha256(self) -> str:
        """SHA-256 (hex) of the exact UTF-8 bytes of ``text``: no normalisation whatsoever."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "text": self.text,
            "format": self.format,
            "locale": self.locale,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TermsDef:
        return cls(
            version=data["version"],
            text=data["text"],
            format=data.get("format", "PLAIN"),
            locale=data.get("locale", "en"),
        )


@dataclass(frozen=True, slots=True)
class ProgramDef:
    """Everything a plugin says about one program.

    It is stored as JSON in ``Program.definition`` (see :meth:`to_json`) whenever the
    plugins are synchronised, so that a program whose plugin is gone stays readable.
    ``support_email`` None means: use the service's ``support_email`` setting.
    """

    code: str
    name: str
    description: str
    job_roles: tuple[JobRoleDef, ...]
    max_roles_per_person: int
    terms: TermsDef
    review_days: int = 5
    required_documents: tuple[DocumentRequirementDef, ...] = ()
    support_email: str | None = None

    def __post_init__(self) -> None:
        _freeze(self, "job_roles", "required_documents")

    def role(self, code: str) -> JobRoleDef | None:
        """The program's general role with this code, if any."""
        return next((r for r in self.job_roles if r.code == code), None)

    def problems(self) -> list[str]:
        """What is wrong with this definition, in words for the plugin's author; [] if nothing.

        Checked once when the plugins load, so that a broken plugin stops the service at
        start-up instead of failing one partner's submission weeks later.
        """
        found: list[str] = []
        if not self.code.strip():
            found.append("code is empty")
        elif len(self.code) > MAX_CODE_LENGTH:
            found.append(f"code is longer than {MAX_CODE_LENGTH} characters")
        if not self.name.strip():
            found.append("name is empty")
        elif len(self.name) > MAX_NAME_LENGTH:
            found.append(f"name is longer than {MAX_NAME_LENGTH} characters")
        if self.max_roles_per_person < 1:
            found.append(f"max_roles_per_person is {self.max_roles_per_person}, must be >= 1")
        if self.review_days < 0:
            found.append(f"review_days is {self.review_days}, must be >= 0")
        found.extend(job_role_problems(self.job_roles))
        found.extend(document_problems(self.required_documents))
        if self.terms.format not in TEXT_FORMATS:
            found.append(f"terms format is {self.terms.format!r}, must be PLAIN or MARKDOWN")
        if not self.terms.version.strip():
            found.append("terms version is empty")
        elif len(self.terms.version) > MAX_CODE_LENGTH:
            found.append(f"terms version is longer than {MAX_CODE_LENGTH} characters")
        if not self.terms.text.strip():
            found.append("terms text is empty")
        return found

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict; ``ProgramDef.from_json(p.to_json()) == p``."""
        return {
            "code": self.code,
            "name": self.name,
            "description": self.description,
            "job_roles": [r.to_json() for r in self.job_roles],
            "max_roles_per_person": self.max_roles_per_person,
            "terms": self.terms.to_json(),
            "review_days": self.review_days,
            "required_documents": [d.to_json() for d in self.required_documents],
            "support_email": self.support_email,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProgramDef:
        """The inverse of :meth:`to_json`; optional keys may be missing (older stored rows)."""
        return cls(
            code=data["code"],
            name=data["name"],
            description=data.get("description", ""),
            job_roles=tuple(JobRoleDef.from_json(r) for r in data["job_roles"]),
            max_roles_per_person=data["max_roles_per_person"],
            terms=TermsDef.from_json(data["terms"]),
            review_days=data.get("review_days", 5),
            required_documents=tuple(
                DocumentRequirementDef.from_json(d) for d in data.get("required_documents", ())
            ),
            support_email=data.get("support_email"),
        )


def job_role_problems(roles: tuple[JobRoleDef, ...] | list[JobRoleDef]) -> list[str]:
    """What is wrong with a set of job roles (a program's, or one location's from a hook)."""
    found: list[str] = []
    seen: set[str] = set()
    for role in roles:
        if not isinstance(role, JobRoleDef):
            found.append(f"{role!r} is not a JobRoleDef")
            continue
        label = f"role {role.code!r}"
        if not role.code.strip():
            found.append("a role has an empty code")
        elif len(role.code) > MAX_CODE_LENGTH:
            found.append(f"{label}: code is longer than {MAX_CODE_LENGTH} characters")
        elif role.code in seen:
            found.append(f"{label} is defined twice")
        seen.add(role.code)
        if not role.name.strip():
            found.append(f"{label}: name is empty")
        if not any(c.strip() for c in role.accepted_certifications):
            found.append(f"{label}: accepts no certification")
        if role.headcount < 1:
            found.append(f"{label}: headcount is {role.headcount}, must be >= 1")
    return found


def document_problems(
    documents: tuple[DocumentRequirementDef, ...] | list[DocumentRequirementDef],
) -> list[str]:
    """What is wrong with a document catalogue (a program's, or one application's)."""
    found: list[str] = []
    seen: set[str] = set()
    for doc in documents:
        if not isinstance(doc, DocumentRequirementDef):
            found.append(f"{doc!r} is not a DocumentRequirementDef")
            continue
        label = f"document {doc.code!r}"
        if not doc.code.strip():
            found.append("a document has an empty code")
        elif len(doc.code) > MAX_CODE_LENGTH:
            found.append(f"{label}: code is longer than {MAX_CODE_LENGTH} characters")
        elif doc.code in seen:
            found.append(f"{label} is defined twice")
        seen.add(doc.code)
        if not doc.name.strip():
            found.append(f"{label}: name is empty")
        if not doc.accepted_content_types:
            found.append(f"{label}: accepts no content type")
        if doc.max_size_bytes < 1:
            found.append(f"{label}: max_size_bytes is {doc.max_size_bytes}, must be >= 1")
    return found


# ---------------------------------------------------------------------------------------------
# Inputs and answers of the rule hooks (batch-shaped: one call answers for many items)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LocationInfo:
    """A partner's location (company plus country), e.g. Equant Austria, country "AT"."""

    id: int
    partner_id: int
    name: str
    country: str


@dataclass(frozen=True, slots=True)
class CertificationInfo:
    """A certification a person holds; ``expires_on`` None means it never expires."""

    code: str
    expires_on: date | None = None


@dataclass(frozen=True, slots=True)
class CandidateInfo:
    """A person considered for a job role of one location's application.

    ``is_staff`` says whether the person is staff of *that* location, which the core
    computes, so the hook needs no query.
    """

    user_id: int
    name: str
    active: bool
    is_staff: bool
    certifications: tuple[CertificationInfo, ...] = ()

    def __post_init__(self) -> None:
        _freeze(self, "certifications")


@dataclass(frozen=True, slots=True)
class Qualification:
    """The answer for one candidate: qualified or not, and if not, why in a sentence."""

    user_id: int
    qualified: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ApplicationInfo:
    """What the rule hooks may know about an application.

    ``allocations`` are (role code, user id) pairs; ``documents`` are (requirement code,
    status) pairs of the current, not superseded documents.
    """

    id: int
    program_code: str
    location: LocationInfo
    status: str
    allocations: tuple[tuple[str, int], ...] = ()
    terms_accepted: bool = False
    documents: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _freeze(self, "allocations", "documents")


@dataclass(frozen=True, slots=True)
class BlockerDef:
    """A reason, from a plugin, why an application cannot be submitted yet.

    ``job_role_code`` / ``document_code`` point the partner at the part of the form to fix.
    """

    code: str
    message: str
    job_role_code: str | None = None
    document_code: str | None = None


class Email(TypedDict):
    """An email as the notification hook sees it (see ``smbselect_email``)."""

    to: list[str]
    cc: list[str]
    subject: str
    text: str
    html: str | None


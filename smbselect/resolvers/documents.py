"""Documents: uploads for an application's requirements, their review, and download links.

An upload is checked against the requirement (the file's content, not its name or the
client's content type, must be an accepted type; size at most the requirement's maximum),
stored under a random name (smbselect.storage), and recorded in one transaction that
supersedes the earlier uploads for the same requirement. If that transaction fails the
stored file is removed again, so the store holds no file without a row.

A download link is short-lived and signed (HMAC with SECRET_KEY over the document id and
the expiry), so it needs no Authorization header; it is only ever handed to the admins and
to the users of the document's location (through ``Document.downloadUrl``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from smbselect import storage
from smbselect.context import Context
from smbselect.db.enums import ApplicationEventKind, ApplicationStatus, DocumentStatus
from smbselect.db.models import Application, Document, Location, User
from smbselect.errors import DomainError, ErrorCode, not_found
from smbselect.plugins.definitions import DocumentRequirementDef, ProgramDef
from smbselect.resolvers import access, applications, events, notify, rules
from smbselect.resolvers.status import Step, allowed, from_statuses
from smbselect.resolvers.text import checked_comment, clean_comment
from smbselect.security import sign, signature_ok
from smbselect.settings import Settings

DOWNLOAD_TTL_SECONDS = 300

_EXPIRES = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --- links --------------------------------------------------------------------------------


def _message(document_id: int, expires: int) -> str:
    return f"document:{document_id}:{expires}"


def download_url(ctx: Context, document: Document, now: float | None = None) -> str:
    expires = int((now or time.time()) + DOWNLOAD_TTL_SECONDS)
    signature = sign(ctx.settings.secret_key, _message(document.id, expires))
    return f"{ctx.settings.public_url}/documents/{document.id}?expires={expires}&signature={signature}"


def link_valid(secret_key: str, document_id: int, expires: str, signature: str, now: float | None = None) -> bool:
    """True for an untampered link that has not expired."""
    # ASCII digits and lowercase hex only: str.isdigit() takes "²" (which int() refuses) and
    # hmac.compare_digest raises on non-ASCII text, and either would be a 500, not a 404.
    if not _EXPIRES.fullmatch(expires or "") or not _SIGNATURE.fullmatch(signature or ""):
        return False
    if int(expires) < (now or time.time()):
        return False
    return signature_ok(secret_key, _message(document_id, int(expires)), signature)


@dataclass(frozen=True)
class Download:
    """What the download endpoint serves."""

    storage_name: str
    filename: str
    content_type: str


async def for_download(
    settings: Settings, document_id: int, expires: str, signature: str
) -> Download | None:
    """The file behind a signed link, or None for an expired, tampered or unknown link.

    The link is the authorisation (it was only handed to someone who could see the
    document), so there is no actor here.
    """
    if not link_valid(settings.secret_key, document_id, expires, signature):
        return None
    doc = await Document.get_or_none(id=document_id)
    if doc is None:
        return None
    return Download(doc.storage_name, doc.filename, doc.content_type)


# --- upload -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingFile:
    """An uploaded file as the HTTP layer received it: the client's name and the bytes."""

    filename: str | None
    stream: IO[bytes]


async def upload(
    ctx: Context, application_id: int | None, requirement_code: str, incoming: IncomingFile | None
) -> Document:
    """Upload a document for one of the application's required documents (partner only).

    Allowed while NOT_SUBMITTED, CHANGES_REQUESTED or SUBMITTED; an upload to a submitted
    application tells the admins there is something new to review.
    """
    user = access.require_partner(ctx)
    app = await applications._load_for_step(ctx, application_id, Step.UPLOAD)
    evaluation = (await rules.evaluate(ctx, [app]))[app.id]
    requirement = next((d for d in evaluation.required_documents if d.code == requirement_code), None)
    if requirement is None:
        raise DomainError.one(
            ErrorCode.INVALID,
            f"'{requirement_code}' is not a document this application requires.",
            ["input", "requirementCode"],
        )
    if incoming is None:
        raise DomainError.one(
            ErrorCode.INVALID, "Send the file as a multipart upload.", ["input", "file"]
        )
    try:
        stored = await storage.store(
            ctx.settings.data_dir, incoming.stream,
            max_bytes=requirement.max_size_bytes, accepted=requirement.accepted_content_types,
        )
    except storage.Rejected as rejected:
        raise DomainError.one(ErrorCode.INVALID, f"{rejected} ({requirement.name})", ["input", "file"]) from None
    filename = storage.clean_filename(incoming.filename)
    now = utcnow()
    try:
        async with in_transaction() as conn:
            # Bumping the version serialises uploads and the partner's other steps on this
            # application: of two racing uploads for one requirement, one supersedes the other.
            await applications.advance(app, conn)
            await Document.filter(
                application_id=app.id, requirement_code=requirement.code, superseded=False
            ).using_db(conn).update(superseded=True)
            doc = await Document.create(
                application_id=app.id,
                requirement_code=requirement.code,
                filename=filename,
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                storage_name=stored.storage_name,
                status=DocumentStatus.PENDING,
                uploaded_at=now,
                uploaded_by_id=user.id,
                using_db=conn,
            )
            await events.record(
                conn, app, ApplicationEventKind.DOCUMENT_UPLOADED, user, at=now,
                data={"document_id": doc.id, "requirement_code": requirement.code,
                      "filename": filename, "size": stored.size, "sha256": stored.sha256},
            )
            if app.status == ApplicationStatus.SUBMITTED:
                await _uploaded_email(ctx, app, evaluation.program, requirement, filename, user, conn)
    except BaseException:
        storage.remove(ctx.settings.data_dir, stored.storage_name)
        raise
    return await Document.get(id=doc.id)


async def _uploaded_email(
    ctx: Context, app: Application, program: ProgramDef, requirement: DocumentRequirementDef,
    filename: str, user: User, conn: Any,
) -> None:
    location = await Location.get(id=app.location_id).using_db(conn)
    await notify.send(ctx, program, notify.Draft(
        event="document_uploaded_admin",
        to=await notify.admin_addresses(ctx, app),
        subject=f"{program.name}: {location.name} uploaded a document to review",
        title=f"New document to review: {notify.where(program, location)}",
        paragraphs=[
            f"{user.name} uploaded {requirement.name} ({filename}) to the submitted application "
            f"of {location.name} to {program.name}.",
            "Please review it: accept it, or reject it with a comment that says what to change.",
        ],
        action_url=notify.application_url(ctx, app.id), action_label="Review the document",
    ), application_id=app.id, conn=conn)


# --- review -------------------------------------------------------------------------------


async def review(
    ctx: Context, document_id: int | None, decision: DocumentStatus, comment: str | None
) -> Document:
    """An admin accepts or rejects an upload; a rejection (which needs a comment) asks the
    partner to upload the document again."""
    admin = access.require_admin(ctx)
    if decision not in (DocumentStatus.ACCEPTED, DocumentStatus.REJECTED):
        raise DomainError.one(ErrorCode.INVALID, "Accept or reject the document.", ["input", "decision"])
    doc = await applications.get_document(ctx, document_id)
    if doc is None:
        raise not_found(["input", "documentId"])
    if doc.superseded:
        raise DomainError.one(
            ErrorCode.INVALID_STATUS,
            "A later upload replaced this document; review the latest one.",
            ["input", "documentId"],
        )
    app = await Application.get(id=doc.application_id)
    if not allowed(Step.REVIEW_DOCUMENT, app.status):
        raise DomainError.one(
            ErrorCode.INVALID_STATUS,
            f"Documents cannot be reviewed while the application is "
            f"{app.status.value.replace('_', ' ')}.",
            ["input", "documentId"],
        )
    text = clean_comment(comment)
    if decision == DocumentStatus.REJECTED and text is None:
        raise DomainError.one(
            ErrorCode.REQUIRED, "Say what is wrong, so the partner knows what to upload.",
            ["input", "comment"],
        )
    text = checked_comment(text, ["input", "comment"])
    _, program = (await rules.programs_by_id(ctx, [app.program_id]))[app.program_id]
    evaluation = (await rules.evaluate(ctx, [app]))[app.id]
    requirement_name = next(
        (d.name for d in (*evaluation.required_documents, *program.required_documents)
         if d.code == doc.requirement_code),
        doc.requirement_code,
    )
    now = utcnow()
    async with in_transaction() as conn:
        # Conditional updates instead of locks: the document must still be the current one
        # and the application still in a status that allows a review.
        changed = await Document.filter(id=doc.id, superseded=False).using_db(conn).update(
            status=decision, review_comment=text, reviewed_by_id=admin.id, reviewed_at=now
        )
        still_open = await Application.filter(
            id=app.id, status__in=from_statuses(Step.REVIEW_DOCUMENT)
        ).using_db(conn).update(version=F("version") + 1)
        if changed != 1 or still_open != 1:
            raise DomainError.one(
                ErrorCode.INVALID_STATUS,
                "The document or its application changed just now; reload and try again.",
                ["input", "documentId"],
            )
        await events.record(
            conn, app, ApplicationEventKind.DOCUMENT_REVIEWED, admin, at=now, comment=text,
            data={"document_id": doc.id, "requirement_code": doc.requirement_code,
                  "filename": doc.filename, "decision": decision.value},
        )
        if decision == DocumentStatus.REJECTED:
            assert text is not None
            await _rejected_email(ctx, app, program, doc, requirement_name, text, conn)
    return await Document.get(id=doc.id)


async def _rejected_email(
    ctx: Context, app: Application, program: ProgramDef, doc: Document, requirement_name: str,
    comment: str, conn: Any,
) -> None:
    location = await Location.get(id=app.location_id).using_db(conn)
    people = await notify.partner_people(app)
    await notify.send(ctx, program, notify.Draft(
        event="document_rejected",
        to=notify.emails_of(people),
        subject=f"{program.name}: please upload {requirement_name} again",
        title=f"{requirement_name} was not accepted",
        paragraphs=[
            f"The {requirement_name} uploaded for the application of {location.name} to "
            f"{program.name} ({doc.filename}) was not accepted.",
            f"The reviewer's comment: {comment}",
            f"Please upload {requirement_name} again from the application page.",
        ],
        action_url=notify.application_url(ctx, app.id), action_label="Upload the document again",
    ), application_id=app.id, conn=conn)

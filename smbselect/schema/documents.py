"""GraphQL shapes of documents: the Document type and its enums, and the two mutations
(documentUpload, a GraphQL multipart request; documentReview)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.file_uploads import Upload

from smbselect import ids
from smbselect.db import enums as db_enums
from smbselect.db import models
from smbselect.resolvers import documents, loaders
from smbselect.schema.base import Info, Node, UserError, global_id, run_mutation
from smbselect.schema.registry import User


@strawberry.enum(name="DocumentStatus")
class DocumentStatus(Enum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


@strawberry.enum(name="DocumentReviewDecision")
class DocumentReviewDecision(Enum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


@strawberry.type(name="Document")
class Document(Node):
    row: strawberry.Private[models.Document]
    id: strawberry.ID
    requirement_code: str = strawberry.field(description="The DocumentRequirement it answers.")
    filename: str
    content_type: str
    size: int
    status: DocumentStatus
    review_comment: str | None
    uploaded_at: datetime
    reviewed_at: datetime | None = strawberry.field(
        description="When an admin last accepted or rejected it; null while PENDING."
    )
    superseded: bool = strawberry.field(
        description="true when a later upload for the same requirement replaced it."
    )

    @classmethod
    def of(cls, row: models.Document) -> Document:
        return cls(
            row=row,
            id=global_id("Document", row.id),
            requirement_code=row.requirement_code,
            filename=row.filename,
            content_type=row.content_type,
            size=row.size,
            status=DocumentStatus[row.status.value],
            review_comment=row.review_comment,
            uploaded_at=row.uploaded_at,
            reviewed_at=row.reviewed_at,
            superseded=row.superseded,
        )

    @strawberry.field
    async def uploaded_by(self, info: Info) -> User:
        user = await loaders.user_by_id(info.context).load(self.row.uploaded_by_id)
        assert user is not None
        return User.of(user)

    @strawberry.field(description="A short-lived signed link that needs no Authorization header.")
    def download_url(self, info: Info) -> str:
        return documents.download_url(info.context, self.row)


# --- mutations ----------------------------------------------------------------------------


@strawberry.input(name="DocumentUploadInput")
class DocumentUploadInput:
    application_id: strawberry.ID
    requirement_code: str
    file: Upload


@strawberry.type(name="DocumentUploadPayload")
class DocumentUploadPayload:
    document: Document | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="DocumentReviewInput")
class DocumentReviewInput:
    document_id: strawberry.ID
    decision: DocumentReviewDecision
    comment: str | None = strawberry.field(
        default=None, description="Required to reject: what is wrong, sent to the partner."
    )


@strawberry.type(name="DocumentReviewPayload")
class DocumentReviewPayload:
    document: Document | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _incoming(value: object) -> documents.IncomingFile | None:
    """The uploaded file of a multipart request (starlette's UploadFile); None for anything
    else, e.g. a string sent in JSON variables."""
    stream = getattr(value, "file", None)
    if stream is None or not callable(getattr(stream, "read", None)):
        return None
    name = getattr(value, "filename", None)
    return documents.IncomingFile(filename=name if isinstance(name, str) else None, stream=stream)


@strawberry.type
class DocumentMutation:
    @strawberry.mutation(
        description="Partner: upload a document the application requires (GraphQL multipart request)."
    )
    async def document_upload(self, info: Info, input: DocumentUploadInput) -> DocumentUploadPayload:
        return await run_mutation(
            lambda: documents.upload(
                info.context, ids.decode(input.application_id, "Application"),
                input.requirement_code, _incoming(input.file),
            ),
            lambda row: DocumentUploadPayload(document=Document.of(row)),
            lambda errors: DocumentUploadPayload(user_errors=errors),
        )

    @strawberry.mutation(description="Admin: review an uploaded document.")
    async def document_review(self, info: Info, input: DocumentReviewInput) -> DocumentReviewPayload:
        return await run_mutation(
            lambda: documents.review(
                info.context, ids.decode(input.document_id, "Document"),
                db_enums.DocumentStatus(input.decision.value), input.comment,
            ),
            lambda row: DocumentReviewPayload(document=Document.of(row)),
            lambda errors: DocumentReviewPayload(user_errors=errors),
        )

"""GraphQL shapes of documents: the Document type and its enums."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from smbselect import ids
from smbselect.db import models
from smbselect.resolvers import documents, loaders
from smbselect.schema.base import Info, Node
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
    superseded: bool = strawberry.field(
        description="true when a later upload for the same requirement replaced it."
    )

    @classmethod
    def of(cls, row: models.Document) -> Document:
        return cls(
            row=row,
            id=strawberry.ID(ids.encode("Document", row.id)),
            requirement_code=row.requirement_code,
            filename=row.filename,
            content_type=row.content_type,
            size=row.size,
            status=DocumentStatus[row.status.value],
            review_comment=row.review_comment,
            uploaded_at=row.uploaded_at,
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

"""Enumerations stored in the database and shown in the API (one definition for both)."""

from __future__ import annotations

from enum import Enum


class UserRole(str, Enum):
    ADMIN = "ADMIN"
    PARTNER = "PARTNER"


class ApplicationStatus(str, Enum):
    IN_PROGRESS = "IN_PROGRESS"
    NOT_SUBMITTED = "NOT_SUBMITTED"
    SUBMITTED = "SUBMITTED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"
    EXPIRED = "EXPIRED"


class Decision(str, Enum):
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"


class DocumentStatus(str, Enum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


class ApplicationEventKind(str, Enum):
    INVITED = "INVITED"
    STARTED = "STARTED"
    JOB_ALLOCATIONS_SAVED = "JOB_ALLOCATIONS_SAVED"
    TERMS_ACCEPTED = "TERMS_ACCEPTED"
    TERMS_DECLINED = "TERMS_DECLINED"
    SUBMITTED = "SUBMITTED"
    DOCUMENT_UPLOADED = "DOCUMENT_UPLOADED"
    DOCUMENT_REVIEWED = "DOCUMENT_REVIEWED"
    DECIDED = "DECIDED"
    REOPENED = "REOPENED"
    WITHDRAWN = "WITHDRAWN"
    EXPIRED = "EXPIRED"


class EmailStatus(str, Enum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    FAILED = "FAILED"


class TextFormat(str, Enum):
    PLAIN = "PLAIN"
    MARKDOWN = "MARKDOWN"

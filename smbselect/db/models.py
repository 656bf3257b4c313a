"""Tortoise models: the whole persistent state of smbselect.

Rules that the database can hold are written here as constraints (unique usernames and
emails, one application per program and location, one allocation of a person per role), so
that two racing requests cannot both write what only one may. Every change of the schema
goes with a migration in smbselect/db/migrations (tests/test_migrations.py fails
when the two disagree).

Columns named *_fold hold str.casefold() of the text they shadow: SQLite's LIKE and
UPPER fold ASCII only, so Unicode-aware search ("TÜRK" finds "Türkiye") compares folded text.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from smbselect.db.enums import (
    ApplicationEventKind,
    ApplicationStatus,
    Decision,
    DocumentStatus,
    EmailStatus,
    UserRole,
)


def fold(*parts: str | None) -> str:
    """The search form of some text: Unicode case folding, parts joined by a newline."""
    return "\n".join((p or "").casefold() for p in parts)


class Partner(Model):
    """A partner company, e.g. Equant. Only a registered partner can be invited."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    name_fold = fields.CharField(max_length=200, db_index=True)
    registered = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "partner"

    async def save(self, *args, **kwargs) -> None:  # type: ignore[override]
        self.name_fold = fold(self.name)
        await super().save(*args, **kwargs)


class Location(Model):
    """One company location of a partner (company plus country), e.g. Equant Austria."""

    id = fields.IntField(primary_key=True)
    partner: fields.ForeignKeyRelation[Partner] = fields.ForeignKeyField(
        "models.Partner", related_name="locations", on_delete=fields.RESTRICT
    )
    partner_id: int
    name = fields.CharField(max_length=200)
    name_fold = fields.CharField(max_length=200, db_index=True)
    country = fields.CharField(max_length=2)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "location"

    async def save(self, *args, **kwargs) -> None:  # type: ignore[override]
        self.name_fold = fold(self.name)
        await super().save(*args, **kwargs)


class User(Model):
    """A person: an admin, a partner user who logs in, or staff who never logs in.

    password_hash is null until the person chooses a password (invitation link or
    password reset), such a person can still be staff and be allocated to job roles.
    """

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=150, unique=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200)
    search_fold = fields.CharField(max_length=620)
    role = fields.CharEnumField(UserRole, max_length=16)
    partner: fields.ForeignKeyNullableRelation[Partner] = fields.ForeignKeyField(
        "models.Partner", related_name="users", null=True, on_delete=fields.RESTRICT
    )
    partner_id: int | None
    password_hash = fields.CharField(max_length=255, null=True)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "user"

    async def save(self, *args, **kwargs) -> None:  # type: ignore[override]
        self.search_fold = fold(self.name, self.username, self.email)
        await super().save(*args, **kwargs)


class LocationMember(Model):
    """The user *acts for* the location: applies, accepts the terms, submits."""

    id = fields.IntField(primary_key=True)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="member_links", on_delete=fields.CASCADE
    )
    location_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="member_links", on_delete=fields.CASCADE
    )
    user_id: int

    class Meta:
        table = "location_member"
        indexes = (("user_id",),)
        unique_together = (("location", "user"),)


class LocationStaff(Model):
    """The person is *staff* of the location: can be allocated to its job roles."""

    id = fields.IntField(primary_key=True)
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="staff_links", on_delete=fields.CASCADE
    )
    location_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="staff_links", on_delete=fields.CASCADE
    )
    user_id: int

    class Meta:
        table = "location_staff"
        indexes = (("user_id",),)
        unique_together = (("location", "user"),)


class Certification(Model):
    """A certification a person holds (CSE, CSA, ...), expires_on null: never expires."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="certifications", on_delete=fields.CASCADE
    )
    user_id: int
    code = fields.CharField(max_length=32)
    expires_on = fields.DateField(null=True)

    class Meta:
        table = "certification"
        unique_together = (("user", "code"),)


class Session(Model):
    """A login session. Only the SHA-256 of its bearer token is kept."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE
    )
    user_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "session"


class PasswordResetToken(Model):
    """An emailed password-reset link, single use, kept as a hash, expires."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="reset_tokens", on_delete=fields.CASCADE
    )
    user_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "password_reset_token"


class RateLimit(Model):
    """Attempts counted per key in a fixed window that starts with the first attempt.

    Keys: "login:user:li.wei", "login:ip:10.0.0.7", "reset:user:...", "reset:ip:...",
    "invite:ip:...". Kept in the database so that every server process sees the same
    counts; changed only by conditional updates (see smbselect/ratelimit.py)."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=255, unique=True)
    window_start = fields.DatetimeField(db_index=True)
    count = fields.IntField(default=0)

    class Meta:
        table = "rate_limit"


class Program(Model):
    """An invitation program, as last registered by the plugin that owns it.

    definition is the program's full definition (roles, documents, terms, ...) stored at
    registration, so that a program whose plugin disappears stays readable.
    """

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    plugin = fields.CharField(max_length=200)
    definition: dict = fields.JSONField()  # type: ignore[assignment]
    active = fields.BooleanField(default=True)
    registered_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "program"


class Invitation(Model):
    """One sending of ONE program to one partner's chosen users."""

    id = fields.IntField(primary_key=True)
    program: fields.ForeignKeyRelation[Program] = fields.ForeignKeyField(
        "models.Program", related_name="invitations", on_delete=fields.RESTRICT
    )
    program_id: int
    partner: fields.ForeignKeyRelation[Partner] = fields.ForeignKeyField(
        "models.Partner", related_name="invitations", on_delete=fields.RESTRICT
    )
    partner_id: int
    invited_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="invitations_sent", on_delete=fields.RESTRICT
    )
    invited_by_id: int
    sent_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()

    class Meta:
        table = "invitation"


class InvitationLink(Model):
    """One recipient's own link of an invitation, only the token's SHA-256 is kept."""

    id = fields.IntField(primary_key=True)
    invitation: fields.ForeignKeyRelation[Invitation] = fields.ForeignKeyField(
        "models.Invitation", related_name="links", on_delete=fields.CASCADE
    )
    invitation_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="invitation_links", on_delete=fields.CASCADE
    )
    user_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    accepted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invitation_link"
        indexes = (("user_id",),)
        unique_together = (("invitation", "user"),)


class Application(Model):
    """A location's application to a program: one per program and location, ever.

    A closed application (REJECTED, WITHDRAWN, EXPIRED) is reopened by a new invitation
    as a new round, its history stays in the events. version grows with every
    change, so that transitions are guarded by conditional updates, not by locks.
    """

    id = fields.IntField(primary_key=True)
    program: fields.ForeignKeyRelation[Program] = fields.ForeignKeyField(
        "models.Program", related_name="applications", on_delete=fields.RESTRICT
    )
    program_id: int
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="applications", on_delete=fields.RESTRICT
    )
    location_id: int
    partner: fields.ForeignKeyRelation[Partner] = fields.ForeignKeyField(
        "models.Partner", related_name="applications", on_delete=fields.RESTRICT
    )
    partner_id: int
    status = fields.CharEnumField(ApplicationStatus, max_length=32, db_index=True)
    round = fields.IntField(default=1)
    version = fields.IntField(default=1)
    invitation: fields.ForeignKeyNullableRelation[Invitation] = fields.ForeignKeyField(
        "models.Invitation", related_name="current_applications", null=True,
        on_delete=fields.SET_NULL,
    )
    invitation_id: int | None
    invited_at = fields.DatetimeField(db_index=True)
    invitation_expires_at = fields.DatetimeField(null=True)
    submitted_at = fields.DatetimeField(null=True, db_index=True)
    review_due_on = fields.DateField(null=True, db_index=True)
    decided_at = fields.DatetimeField(null=True)
    last_decision = fields.CharEnumField(Decision, max_length=32, null=True)
    decision_comment = fields.TextField(null=True)
    terms_declined = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "application"
        # partner_id: the queue's partner filter and search. Migration 0006 adds the approval
        # queue's index too, on an expression tortoise cannot declare: (status, review_due_on
        # is null, review_due_on), the queue's filter and its order with nulls last.
        indexes = (("location_id", "program_id"), ("partner_id",))
        unique_together = (("program", "location"),)


class InvitationApplication(Model):
    """Which applications an invitation opened or re-sent (Invitation.applications)."""

    id = fields.IntField(primary_key=True)
    invitation: fields.ForeignKeyRelation[Invitation] = fields.ForeignKeyField(
        "models.Invitation", related_name="application_links", on_delete=fields.CASCADE
    )
    invitation_id: int
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "models.Application", related_name="invitation_links", on_delete=fields.CASCADE
    )
    application_id: int

    class Meta:
        table = "invitation_application"
        indexes = (("application_id",),)
        unique_together = (("invitation", "application"),)


class JobAllocation(Model):
    """A person allocated to a job role of an application."""

    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "models.Application", related_name="allocations", on_delete=fields.CASCADE
    )
    application_id: int
    role_code = fields.CharField(max_length=64)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="allocations", on_delete=fields.RESTRICT
    )
    user_id: int

    class Meta:
        table = "job_allocation"
        unique_together = (("application", "role_code", "user"),)


class TermsAcceptance(Model):
    """I Accept: who, when, which version and the SHA-256 of the exact text shown.

    Rows are never deleted: a decline or a new round sets withdrawn_at.
    """

    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "models.Application", related_name="terms_acceptances", on_delete=fields.CASCADE
    )
    application_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="terms_acceptances", on_delete=fields.RESTRICT
    )
    user_id: int
    username = fields.CharField(max_length=150)
    version = fields.CharField(max_length=64)
    sha256 = fields.CharField(max_length=64)
    accepted_at = fields.DatetimeField()
    withdrawn_at = fields.DatetimeField(null=True)

    class Meta:
        table = "terms_acceptance"
        indexes = (("application_id",),)


class Document(Model):
    """An uploaded file, stored in DATA_DIR under storage_name (random, never the client's)."""

    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "models.Application", related_name="documents", on_delete=fields.CASCADE
    )
    application_id: int
    requirement_code = fields.CharField(max_length=64)
    filename = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=127)
    size = fields.BigIntField()
    sha256 = fields.CharField(max_length=64)
    storage_name = fields.CharField(max_length=64, unique=True)
    status = fields.CharEnumField(DocumentStatus, max_length=16, default=DocumentStatus.PENDING)
    review_comment = fields.TextField(null=True)
    reviewed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="documents_reviewed", null=True, on_delete=fields.SET_NULL
    )
    reviewed_by_id: int | None
    reviewed_at = fields.DatetimeField(null=True)
    uploaded_at = fields.DatetimeField()
    uploaded_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="documents_uploaded", on_delete=fields.RESTRICT
    )
    uploaded_by_id: int
    superseded = fields.BooleanField(default=False)

    class Meta:
        table = "document"
        indexes = (("application_id",),)


class ApplicationEvent(Model):
    """The audit trail: one row per step, written in the same transaction as the step.

    The actor's name and role are copied so the trail reads the same after a rename.
    """

    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "models.Application", related_name="events", on_delete=fields.CASCADE
    )
    application_id: int
    round = fields.IntField(default=1)
    occurred_at = fields.DatetimeField()
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="events", null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    actor_name = fields.CharField(max_length=200, null=True)
    actor_role = fields.CharEnumField(UserRole, max_length=16, null=True)
    kind = fields.CharEnumField(ApplicationEventKind, max_length=32)
    from_status = fields.CharEnumField(ApplicationStatus, max_length=32, null=True)
    to_status = fields.CharEnumField(ApplicationStatus, max_length=32, null=True)
    comment = fields.TextField(null=True)
    data: dict = fields.JSONField(default=dict)  # type: ignore[assignment]
    # When the plugins' observers received the event (null: not yet). A per-event mark
    # rather than a single high-water id, so an event whose transaction committed after a
    # later one (PostgreSQL) is never skipped.
    observed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "application_event"
        indexes = (("observed_at", "id"), ("application_id", "occurred_at"))


class EmailMessage(Model):
    """The outbox: an email is written with the change that causes it, sent after commit.

    A relay claims a row (claimed_until) before sending it, so several processes never
    send one email twice, message_id is fixed at queue time and reused on every retry.
    """

    id = fields.IntField(primary_key=True)
    to: list = fields.JSONField()  # type: ignore[assignment]
    cc: list = fields.JSONField(default=list)  # type: ignore[assignment]
    subject = fields.CharField(max_length=500)
    body_text = fields.TextField()
    body_html = fields.TextField(null=True)
    message_id = fields.CharField(max_length=255, unique=True)
    kind = fields.CharField(max_length=64)
    status = fields.CharEnumField(EmailStatus, max_length=16, default=EmailStatus.QUEUED)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)
    queued_at = fields.DatetimeField()
    next_attempt_at = fields.DatetimeField(db_index=True)
    claimed_until = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    application: fields.ForeignKeyNullableRelation[Application] = fields.ForeignKeyField(
        "models.Application", related_name="emails", null=True, on_delete=fields.SET_NULL
    )
    application_id: int | None
    invitation: fields.ForeignKeyNullableRelation[Invitation] = fields.ForeignKeyField(
        "models.Invitation", related_name="emails", null=True, on_delete=fields.SET_NULL
    )
    invitation_id: int | None

    class Meta:
        table = "email_message"
        # the relay's claim, and the emails of an application or an invitation
        indexes = (("status", "next_attempt_at"), ("application_id", "id"), ("invitation_id", "id"))

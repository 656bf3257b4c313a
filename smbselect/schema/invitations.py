"""GraphQL shapes of invitations: Invitation (admins only), InvitationPreview, and the
invitationPreview query with the invitationSend and invitationAccept mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry

from smbselect import ids
from smbselect.db import models
from smbselect.resolvers import invitations
from smbselect.schema.applications import Application
from smbselect.schema.base import Info, Node, UserError, run_mutation
from smbselect.schema.outbox import EmailMessage
from smbselect.schema.programs import Program
from smbselect.schema.registry import Partner, User


@strawberry.type(name="Invitation")
class Invitation(Node):
    row: strawberry.Private[models.Invitation]
    id: strawberry.ID

    @classmethod
    def of(cls, row: models.Invitation) -> Invitation:
        return cls(row=row, id=strawberry.ID(ids.encode("Invitation", row.id)))

    @strawberry.field
    async def program(self, info: Info) -> Program:
        return Program.of(await invitations.program_of(info.context, self.row))

    @strawberry.field
    async def partner(self, info: Info) -> Partner:
        return Partner.of(await invitations.partner_of(info.context, self.row))

    @strawberry.field
    async def users(self, info: Info) -> list[User]:
        return [User.of(u) for u in await invitations.users_of(info.context, self.row)]

    @strawberry.field
    async def invited_by(self, info: Info) -> User:
        return User.of(await invitations.invited_by(info.context, self.row))

    @strawberry.field
    def sent_at(self) -> datetime:
        return self.row.sent_at

    @strawberry.field
    def expires_at(self) -> datetime:
        return self.row.expires_at

    @strawberry.field(description="One application per location of the invitation.")
    async def applications(self, info: Info) -> list[Application]:
        return [Application.of(a) for a in await invitations.applications_of(info.context, self.row)]

    @strawberry.field
    async def emails(self, info: Info) -> list[EmailMessage]:
        return [EmailMessage.of(e) for e in await invitations.emails_of(info.context, self.row)]


@strawberry.type(
    name="InvitationPreview",
    description="What anyone holding an invitation link may see before logging in.",
)
class InvitationPreview:
    program_name: str
    partner_name: str
    expires_at: datetime
    expired: bool = strawberry.field(
        description="true: show 'ask for a new invitation' and the support address."
    )
    needs_password: bool = strawberry.field(
        description="true when the invited user still has to choose a password "
        "(invitationAccept with a password)."
    )
    support_email: str

    @classmethod
    def of(cls, view: invitations.Preview) -> InvitationPreview:
        return cls(
            program_name=view.program_name,
            partner_name=view.partner_name,
            expires_at=view.expires_at,
            expired=view.expired,
            needs_password=view.needs_password,
            support_email=view.support_email,
        )


@strawberry.input(name="InvitationSendInput")
class InvitationSendInput:
    program_id: strawberry.ID = strawberry.field(description="Exactly one program.")
    partner_id: strawberry.ID
    user_ids: list[strawberry.ID] = strawberry.field(
        description="The individuals of that partner who receive the invitation email, each "
        "with their own link."
    )
    location_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="Limit to these locations of the partner; default: every location an "
        "invited user acts for.",
    )


@strawberry.type(name="InvitationSendPayload")
class InvitationSendPayload:
    invitation: Invitation | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="InvitationAcceptInput")
class InvitationAcceptInput:
    token: str
    password: str = strawberry.field(
        description="Sets the password when the invited user has none yet; otherwise the "
        "password is checked as at login."
    )


@strawberry.type(name="InvitationAcceptPayload")
class InvitationAcceptPayload:
    token: str | None = strawberry.field(default=None, description="A bearer token, as from login.")
    user: User | None = None
    applications: list[Application] = strawberry.field(
        default_factory=list,
        description="The applications the invitation opened for the user's locations.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _send_input(data: InvitationSendInput) -> invitations.SendInput:
    return invitations.SendInput(
        program_id=ids.decode(data.program_id, "Program"),
        partner_id=ids.decode(data.partner_id, "Partner"),
        user_ids=[ids.decode(u, "User") for u in data.user_ids],
        location_ids=None if data.location_ids is None
        else [ids.decode(loc, "Location") for loc in data.location_ids],
    )


@strawberry.type
class InvitationQuery:
    @strawberry.field(
        description="null only for an unknown token; an expired one answers with expired = true. "
        "A link stays usable until it expires."
    )
    async def invitation_preview(self, info: Info, token: str) -> InvitationPreview | None:
        view = await invitations.preview(info.context, token)
        return InvitationPreview.of(view) if view else None


@strawberry.type
class InvitationMutation:
    @strawberry.mutation(
        description="Admin: invite a partner's users to one program; emails each of them their own link."
    )
    async def invitation_send(self, info: Info, input: InvitationSendInput) -> InvitationSendPayload:
        return await run_mutation(
            lambda: invitations.send(info.context, _send_input(input)),
            lambda row: InvitationSendPayload(invitation=Invitation.of(row)),
            lambda errors: InvitationSendPayload(user_errors=errors),
        )

    @strawberry.mutation(
        description="Anyone with a valid link: log in (choosing a password the first time) and "
        "see the opened applications."
    )
    async def invitation_accept(self, info: Info, input: InvitationAcceptInput) -> InvitationAcceptPayload:
        return await run_mutation(
            lambda: invitations.accept(info.context, input.token, input.password),
            lambda done: InvitationAcceptPayload(
                token=done.login.token, user=User.of(done.login.user),
                applications=[Application.of(a) for a in done.applications],
            ),
            lambda errors: InvitationAcceptPayload(user_errors=errors),
        )

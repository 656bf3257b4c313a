"""GraphQL shapes of accounts: me, login, logout, password change and reset, sessions."""

from __future__ import annotations

from datetime import datetime

import strawberry

from smbselect import ids
from smbselect.resolvers import auth
from smbselect.schema.base import Info, UserError, run_mutation
from smbselect.schema.registry import User


@strawberry.input(name="LoginInput")
class LoginInput:
    username: str
    password: str


@strawberry.type(
    name="LoginPayload",
    description="On failure: INVALID, with one message for a wrong password, an unknown and an "
    "inactive user; RATE_LIMITED when throttled.",
)
class LoginPayload:
    token: str | None = strawberry.field(default=None, description="Send as Authorization: Bearer <token>.")
    expires_at: datetime | None = None
    user: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(name="LogoutPayload")
class LogoutPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="PasswordChangeInput")
class PasswordChangeInput:
    current_password: str
    new_password: str


@strawberry.type(name="PasswordChangePayload")
class PasswordChangePayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="PasswordResetRequestInput")
class PasswordResetRequestInput:
    login: str = strawberry.field(
        description="Username or email; the answer is the same whether or not it exists."
    )


@strawberry.type(name="PasswordResetRequestPayload")
class PasswordResetRequestPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="PasswordResetInput")
class PasswordResetInput:
    token: str = strawberry.field(description="From the reset email.")
    new_password: str


@strawberry.type(name="PasswordResetPayload")
class PasswordResetPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="SessionRevokeInput")
class SessionRevokeInput:
    user_id: strawberry.ID = strawberry.field(description="Ends every session of this user.")


@strawberry.type(name="SessionRevokePayload")
class SessionRevokePayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AuthQuery:
    @strawberry.field(description="The logged-in user; null without a valid token (never an error).")
    def me(self, info: Info) -> User | None:
        return User.of(info.context.user) if info.context.user else None


@strawberry.type
class AuthMutation:
    @strawberry.mutation
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        return await run_mutation(
            lambda: auth.login(info.context, input.username, input.password),
            lambda r: LoginPayload(token=r.token, expires_at=r.expires_at, user=User.of(r.user)),
            lambda errors: LoginPayload(user_errors=errors),
        )

    @strawberry.mutation
    async def logout(self, info: Info) -> LogoutPayload:
        return await run_mutation(
            lambda: auth.logout(info.context),
            lambda _: LogoutPayload(),
            lambda errors: LogoutPayload(user_errors=errors),
        )

    @strawberry.mutation
    async def password_change(self, info: Info, input: PasswordChangeInput) -> PasswordChangePayload:
        return await run_mutation(
            lambda: auth.password_change(info.context, input.current_password, input.new_password),
            lambda _: PasswordChangePayload(),
            lambda errors: PasswordChangePayload(user_errors=errors),
        )

    @strawberry.mutation
    async def password_reset_request(
        self, info: Info, input: PasswordResetRequestInput
    ) -> PasswordResetRequestPayload:
        return await run_mutation(
            lambda: auth.password_reset_request(info.context, input.login),
            lambda _: PasswordResetRequestPayload(),
            lambda errors: PasswordResetRequestPayload(user_errors=errors),
        )

    @strawberry.mutation
    async def password_reset(self, info: Info, input: PasswordResetInput) -> PasswordResetPayload:
        return await run_mutation(
            lambda: auth.password_reset(info.context, input.token, input.new_password),
            lambda _: PasswordResetPayload(),
            lambda errors: PasswordResetPayload(user_errors=errors),
        )

    @strawberry.mutation(description="Admin: end every session of a user.")
    async def session_revoke(self, info: Info, input: SessionRevokeInput) -> SessionRevokePayload:
        return await run_mutation(
            lambda: auth.session_revoke(info.context, ids.decode(input.user_id, "User")),
            lambda _: SessionRevokePayload(),
            lambda errors: SessionRevokePayload(user_errors=errors),
        )

"""The schema: the domains' Query and Mutation roots merged, plus ``node``."""

from __future__ import annotations

from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.tools import merge_types

from smbselect import ids
from smbselect.errors import AccessError
from smbselect.resolvers import applications, outbox, registry
from smbselect.resolvers import programs as program_resolvers
from smbselect.schema.applications import Application, ApplicationMutation, ApplicationQuery
from smbselect.schema.auth import AuthMutation, AuthQuery
from smbselect.schema.base import Info, Node
from smbselect.schema.documents import Document, DocumentMutation
from smbselect.schema.errors import shape_errors
from smbselect.schema.execution import ExecutionContext, speed_up_enums
from smbselect.schema.invitations import Invitation, InvitationMutation, InvitationQuery
from smbselect.schema.outbox import EmailMessage, OutboxMutation, OutboxQuery
from smbselect.schema.pipeline import RequestPolicy
from smbselect.schema.programs import Program, ProgramQuery
from smbselect.schema.registry import Location, Partner, RegistryMutation, RegistryQuery, User
from smbselect.schema.review import ReviewMutation, ReviewQuery


async def resolve_node(info: Info, global_id: str) -> Node | None:
    """Any object by its global id, through the same access scope as everything else."""
    decoded = ids.decode_any(global_id)
    if decoded is None:
        return None
    type_name, pk = decoded
    ctx = info.context
    if type_name == "User":
        row = await registry.get_user(ctx, pk)
        return User.of(row) if row else None
    if type_name == "Partner":
        row = await registry.get_partner(ctx, pk)
        return Partner.of(row) if row else None
    if type_name == "Location":
        row = await registry.get_location(ctx, pk)
        return Location.of(row) if row else None
    if type_name == "Application":
        row = await applications.get_application(ctx, pk)
        return Application.of(row) if row else None
    if type_name == "Document":
        doc = await applications.get_document(ctx, pk)
        return Document.of(doc) if doc else None
    if type_name == "EmailMessage":
        row = await outbox.get_email(ctx, pk)
        return EmailMessage.of(row) if row else None
    if type_name == "Invitation":
        from smbselect.resolvers import invitations

        invitation = await invitations.get_invitation(ctx, pk)  # admins only; None for partners
        return Invitation.of(invitation) if invitation else None
    if type_name == "Program":
        view = await program_resolvers.get_program(ctx, pk)
        return Program.of(view) if view else None
    return None


@strawberry.type
class NodeQuery:
    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        from smbselect.resolvers.access import require_user

        require_user(info.context)
        return await resolve_node(info, id)


Query = merge_types(
    "Query", (NodeQuery, AuthQuery, ApplicationQuery, ProgramQuery, RegistryQuery, OutboxQuery, InvitationQuery,
             ReviewQuery)
)
Mutation = merge_types(
    "Mutation", (AuthMutation, RegistryMutation, ApplicationMutation, OutboxMutation, InvitationMutation,
                 DocumentMutation, ReviewMutation)
)


# Limits checked while validating, before any resolver runs. The deepest useful path
# (me > locations > partner > locations > applications > documents > uploadedBy > ...) is
# about 9 levels; the web app's largest screen uses under 40 aliases and 2,000 tokens.
MAX_DEPTH = 12
MAX_ALIASES = 50
MAX_TOKENS = 5000

# The depth and alias rules, made once: strawberry's QueryDepthLimiter and MaxAliasesLimiter
# build a new rule class in every instance, and a validation cache keyed by the rules would
# then miss on every request (it did, and validating cost more than `me`'s database time).
LIMIT_RULES = (
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
)


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Only what nothing else will shape. :func:`errors.shape_errors` masks and logs each
        unexpected error of an execution once, with the request id the client sees.
        strawberry's default logged every error, a partner's "Log in first" included, as an
        ERROR with a stack, and only on strawberry's path (``smbselect.graphql_http``
        answers most requests without it). An exception outside any field (in an extension
        hook, say) has no path and never reaches the shaping: it is shaped here, in the
        list strawberry then answers with, so its message stays in the log."""
        for index, error in enumerate(errors):
            original = error.original_error
            if error.path is None and original is not None and not isinstance(original, AccessError | GraphQLError):
                errors[index] = shape_errors([error], getattr(execution_context, "context", None))[0]


def build_schema() -> strawberry.Schema:
    built = Schema(
        query=Query,
        mutation=Mutation,
        types=[User, Partner, Location, Program, EmailMessage, Application, Document, Invitation],
        execution_context_class=ExecutionContext,  # plain scalar fields read directly
        extensions=[
            # The limits, the parse and validation caches (parsing and validating the same
            # documents again and again cost more than the database for small queries),
            # introspection and "Did you mean" for admins only in production, error shaping.
            partial(RequestPolicy, max_tokens=MAX_TOKENS, rules=LIMIT_RULES),
        ],
    )
    speed_up_enums(built._schema)
    return built


schema = build_schema()

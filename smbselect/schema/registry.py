"""GraphQL shapes of the partner registry: User, Partner, Location, Certification."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated
import strawberry

from smbselect import ids
from smbselect.db import models
from smbselect.resolvers import registry
from smbselect.resolvers.pagination import Page
from smbselect.schema.base import Info, Node, PageInfo, UserError, global_id, ready_or, run_mutation
from smbselect.schema.enums import UserRole, to_gql

if TYPE_CHECKING:
    from smbselect.schema.applications import Application

SEARCH_DESCRIPTION = "search: case-insensitive, Unicode-aware substring of name, username or email."


def page_info(page: Page) -> PageInfo:  # type: ignore[type-arg]
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.cursors[-1] if page.cursors else None,
    )


@strawberry.type(name="Certification")
class Certification:
    code: str = strawberry.field(description="e.g. CSE or CSA")
    expires_on: date | None = strawberry.field(description="null: does not expire")


@strawberry.type(name="User")
class User(Node):
    row: strawberry.Private[models.User]
    id: strawberry.ID
    username: str = strawberry.field(description="The login name (the CCO ID of the seed).")
    email: str
    name: str
    role: UserRole
    active: bool = strawberry.field(
        description="false: can no longer log in, and is no longer offered as staff."
    )

    @classmethod
    def of(cls, row: models.User) -> User:
        return cls(
            row=row,
            id=global_id("User", row.id),
            username=row.username,
            email=row.email,
            name=row.name,
            role=to_gql(UserRole, row.role),  # type: ignore[arg-type]
            active=row.active,
        )

    @strawberry.field(description="The partner company of a PARTNER; null for an ADMIN.")
    async def partner(self, info: Info) -> Partner | None:
        row = await registry.partner_of(info.context, self.row.partner_id)
        return Partner.of(row) if row else None

    @strawberry.field
    async def certifications(self, info: Info) -> list[Certification]:
        rows = await registry.certifications_of(info.context, self.row.id)
        return [Certification(code=r.code, expires_on=r.expires_on) for r in rows]

    @strawberry.field(description="Locations this user may act for: apply, accept the terms, submit.")
    async def locations(self, info: Info) -> list[Location]:
        return [Location.of(r) for r in await registry.user_locations(info.context, self.row.id)]

    @strawberry.field(description="Locations where this user is staff who can be allocated to job roles.")
    async def staff_of(self, info: Info) -> list[Location]:
        return [Location.of(r) for r in await registry.user_staff_of(info.context, self.row.id)]


@strawberry.type(name="UserEdge")
class UserEdge:
    node: User
    cursor: str


@strawberry.type(name="UserConnection")
class UserConnection:
    page: strawberry.Private[Page]  # type: ignore[type-arg]
    edges: list[UserEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page) -> UserConnection:  # type: ignore[type-arg]
        edges = [UserEdge(node=User.of(r), cursor=c) for r, c in zip(page.items, page.cursors)]
        return cls(page=page, edges=edges, page_info=page_info(page))

    @strawberry.field
    async def total_count(self) -> int:
        """Counted only when asked for."""
        return await self.page.total_count()


@strawberry.type(name="Partner")
class Partner(Node):
    row: strawberry.Private[models.Partner]
    id: strawberry.ID
    name: str
    registered: bool = strawberry.field(description="Only a registered partner can be invited.")

    @classmethod
    def of(cls, row: models.Partner) -> Partner:
        return cls(
            row=row,
            id=global_id("Partner", row.id),
            name=row.name,
            registered=row.registered,
        )

    @strawberry.field(description="For a partner user: only the locations they act for.")
    async def locations(self, info: Info) -> list[Location]:
        return [Location.of(r) for r in await registry.partner_locations(info.context, self.row.id)]

    @strawberry.field(
        description="People of this partner; for a partner user only those of the locations "
        "they act for. " + SEARCH_DESCRIPTION
    )
    async def users(
        self, info: Info, search: str | None = None, first: int | None = 50, after: str | None = None
    ) -> UserConnection:
        page = await registry.search_people(
            info.context, partner_id=self.row.id, search=search, first=first, after=after
        )
        return UserConnection.of(page)


@strawberry.type(name="Location")
class Location(Node):
    row: strawberry.Private[models.Location]
    id: strawberry.ID
    name: str = strawberry.field(description="The company at this location, e.g. Equant Austria.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")

    @classmethod
    def of(cls, row: models.Location) -> Location:
        return cls(
            row=row,
            id=global_id("Location", row.id),
            name=row.name,
            country=row.country,
        )

    @strawberry.field
    def partner(self, info: Info) -> Partner:
        ctx = info.context
        return ready_or(registry.partner_now(ctx, self.row.partner_id), _visible_partner,
                        lambda: registry.partner_of(ctx, self.row.partner_id))

    @strawberry.field(description="Users who may act for this location.")
    async def members(self, info: Info) -> list[User]:
        return [User.of(r) for r in await registry.location_members(info.context, self.row.id)]

    @strawberry.field(
        description="People who can be allocated to job roles here (they need not log in). "
        "search: as in Partner.users."
    )
    async def staff(
        self, info: Info, search: str | None = None, first: int | None = 50, after: str | None = None
    ) -> UserConnection:
        page = await registry.search_people(
            info.context, staff_of_location_id=self.row.id, search=search, first=first, after=after
        )
        return UserConnection.of(page)


    @strawberry.field(
        description="The invitation programs of this location with their current status: the "
        "In-Progress table."
    )
    async def applications(
        self, info: Info
    ) -> list[Annotated[Application, strawberry.lazy("smbselect.schema.applications")]]:
        from smbselect.resolvers.applications import location_applications
        from smbselect.schema.applications import Application, prefetch_for

        rows = await location_applications(info.context, self.row.id)
        await prefetch_for(info, rows)
        return [Application.of(r) for r in rows]


def _visible_partner(row: models.Partner | None) -> Partner:
    assert row is not None  # a visible location's partner is visible
    return Partner.of(row)


@strawberry.type(name="PartnerEdge")
class PartnerEdge:
    node: Partner
    cursor: str


@strawberry.type(name="PartnerConnection")
class PartnerConnection:
    page: strawberry.Private[Page]  # type: ignore[type-arg]
    edges: list[PartnerEdge]
    page_info: PageInfo

    @strawberry.field
    async def total_count(self) -> int:
        return await self.page.total_count()


# --- inputs and payloads -----------------------------------------------------------------


def decode(value: str | None, type_name: str) -> int | None:
    return ids.decode(value, type_name) if value is not None else None


def decode_list(values: list[strawberry.ID] | None, type_name: str) -> list[int | None] | None:
    return None if values is None else [ids.decode(v, type_name) for v in values]


@strawberry.input(name="PartnerCreateInput")
class PartnerCreateInput:
    name: str
    registered: bool = True


@strawberry.type(name="PartnerCreatePayload")
class PartnerCreatePayload:
    partner: Partner | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="PartnerUpdateInput")
class PartnerUpdateInput:
    partner_id: strawberry.ID
    name: str | None = None
    registered: bool | None = None


@strawberry.type(name="PartnerUpdatePayload")
class PartnerUpdatePayload:
    partner: Partner | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="LocationCreateInput")
class LocationCreateInput:
    partner_id: strawberry.ID
    name: str
    country: str


@strawberry.type(name="LocationCreatePayload")
class LocationCreatePayload:
    location: Location | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="LocationUpdateInput")
class LocationUpdateInput:
    location_id: strawberry.ID
    name: str | None = None
    country: str | None = None


@strawberry.type(name="LocationUpdatePayload")
class LocationUpdatePayload:
    location: Location | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="UserCreateInput")
class UserCreateInput:
    username: str
    email: str
    name: str
    role: UserRole
    partner_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="Required for a PARTNER; every location below must be this partner's.",
    )
    password: str | None = strawberry.field(
        default=None,
        description="null: the user chooses one through their invitation link or a password reset.",
    )
    location_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Locations the user may act for."
    )
    staff_location_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Locations where the user is staff who can be allocated."
    )


@strawberry.type(name="UserCreatePayload")
class UserCreatePayload:
    user: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="UserUpdateInput")
class UserUpdateInput:
    user_id: strawberry.ID
    name: str | None = None
    email: str | None = None
    active: bool | None = None
    location_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Replaces the set when given."
    )
    staff_location_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Replaces the set when given."
    )


@strawberry.type(name="UserUpdatePayload")
class UserUpdatePayload:
    user: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="CertificationCreateInput")
class CertificationCreateInput:
    user_id: strawberry.ID
    code: str
    expires_on: date | None = None


@strawberry.type(name="CertificationCreatePayload")
class CertificationCreatePayload:
    user: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="CertificationRemoveInput")
class CertificationRemoveInput:
    user_id: strawberry.ID
    code: str


@strawberry.type(name="CertificationRemovePayload")
class CertificationRemovePayload:
    user: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


# --- roots -------------------------------------------------------------------------------


@strawberry.type
class RegistryQuery:
    @strawberry.field(
        description="Admin: search partner companies (Search Partner): case-insensitive, "
        "Unicode-aware substring of the name (Türkiye matches TÜRK)."
    )
    async def partners(
        self, info: Info, search: str | None = None, first: int | None = 20, after: str | None = None
    ) -> PartnerConnection:
        page = await registry.search_partners(info.context, search, first, after)
        edges = [PartnerEdge(node=Partner.of(r), cursor=c) for r, c in zip(page.items, page.cursors)]
        return PartnerConnection(page=page, edges=edges, page_info=page_info(page))


@strawberry.type
class RegistryMutation:
    @strawberry.mutation(description="Admin: the partner registry.")
    async def partner_create(self, info: Info, input: PartnerCreateInput) -> PartnerCreatePayload:
        return await run_mutation(
            lambda: registry.partner_create(info.context, input.name, input.registered),
            lambda row: PartnerCreatePayload(partner=Partner.of(row)),
            lambda errors: PartnerCreatePayload(user_errors=errors),
        )

    @strawberry.mutation
    async def partner_update(self, info: Info, input: PartnerUpdateInput) -> PartnerUpdatePayload:
        return await run_mutation(
            lambda: registry.partner_update(
                info.context, decode(input.partner_id, "Partner"), input.name, input.registered
            ),
            lambda row: PartnerUpdatePayload(partner=Partner.of(row)),
            lambda errors: PartnerUpdatePayload(user_errors=errors),
        )

    @strawberry.mutation
    async def location_create(self, info: Info, input: LocationCreateInput) -> LocationCreatePayload:
        return await run_mutation(
            lambda: registry.location_create(
                info.context, decode(input.partner_id, "Partner"), input.name, input.country
            ),
            lambda row: LocationCreatePayload(location=Location.of(row)),
            lambda errors: LocationCreatePayload(user_errors=errors),
        )

    @strawberry.mutation
    async def location_update(self, info: Info, input: LocationUpdateInput) -> LocationUpdatePayload:
        return await run_mutation(
            lambda: registry.location_update(
                info.context, decode(input.location_id, "Location"), input.name, input.country
            ),
            lambda row: LocationUpdatePayload(location=Location.of(row)),
            lambda errors: LocationUpdatePayload(user_errors=errors),
        )

    @strawberry.mutation
    async def user_create(self, info: Info, input: UserCreateInput) -> UserCreatePayload:
        given = input.partner_id is not strawberry.UNSET and input.partner_id is not None
        data = registry.UserInput(
            username=input.username,
            email=input.email,
            name=input.name,
            role=models.UserRole(input.role.value),
            partner_id=decode(input.partner_id, "Partner") if given else None,  # type: ignore[arg-type]
            partner_id_given=given,
            password=input.password,
            location_ids=decode_list(input.location_ids, "Location") or [],
            staff_location_ids=decode_list(input.staff_location_ids, "Location") or [],
        )
        return await run_mutation(
            lambda: registry.user_create(info.context, data),
            lambda row: UserCreatePayload(user=User.of(row)),
            lambda errors: UserCreatePayload(user_errors=errors),
        )

    @strawberry.mutation
    async def user_update(self, info: Info, input: UserUpdateInput) -> UserUpdatePayload:
        changes = registry.UserChanges(
            user_id=decode(input.user_id, "User"),
            name=input.name,
            email=input.email,
            active=input.active,
            location_ids=decode_list(input.location_ids, "Location"),
            staff_location_ids=decode_list(input.staff_location_ids, "Location"),
        )
        return await run_mutation(
            lambda: registry.user_update(info.context, changes),
            lambda row: UserUpdatePayload(user=User.of(row)),
            lambda errors: UserUpdatePayload(user_errors=errors),
        )

    @strawberry.mutation(
        description="Admin: record a certification of a person; recording one they already "
        "hold renews its expiry."
    )
    async def certification_create(
        self, info: Info, input: CertificationCreateInput
    ) -> CertificationCreatePayload:
        return await run_mutation(
            lambda: registry.certification_create(
                info.context, decode(input.user_id, "User"), input.code, input.expires_on
            ),
            lambda row: CertificationCreatePayload(user=User.of(row)),
            lambda errors: CertificationCreatePayload(user_errors=errors),
        )

    @strawberry.mutation
    async def certification_remove(
        self, info: Info, input: CertificationRemoveInput
    ) -> CertificationRemovePayload:
        return await run_mutation(
            lambda: registry.certification_remove(info.context, decode(input.user_id, "User"), input.code),
            lambda row: CertificationRemovePayload(user=User.of(row)),
            lambda errors: CertificationRemovePayload(user_errors=errors),
        )


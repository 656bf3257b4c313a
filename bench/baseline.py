"""The baseline: a minimal Starlette app that answers the benchmark's operations without GraphQL.

Reads are hand-written SQL over the same database (through tortoise's connection, so SQL
statements are counted the same way), turned into the same JSON as smbselect answers.
The program rules are the same: the plugins' hooks and the pure ``Evaluation`` of
``smbselect.resolvers.rules`` (which words each submit blocker), fed with data this module
loads itself. Mutations call the same resolver functions as the GraphQL mutations do, with a
``Context`` built by hand. Serve it with ``python -m bench.baseline --port 8001`` (the
benchmark does), configured by the same ``SMBSELECT_*`` variables as ``smbselect serve``.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date, datetime, timezone
from types import SimpleNamespace
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise import Tortoise

from smbselect import ids
from smbselect.app import SqlCountHeader, bearer_token
from smbselect.context import Context
from smbselect.db.connect import close_db, open_db
from smbselect.db.enums import ApplicationStatus, DocumentStatus
from smbselect.db.models import fold
from smbselect.db.search import names_matching, row_by_row
from smbselect.errors import DomainError
from smbselect.plugins.definitions import ApplicationInfo, CandidateInfo, CertificationInfo, LocationInfo, ProgramDef
from smbselect.plugins.manager import Plugins, ProgramUnavailable
from smbselect.resolvers import applications, auth, evaluations, rules
from smbselect.resolvers.status import EDITABLE
from smbselect.settings import Settings, get_settings

EXISTS_MESSAGE = "The job role or the person no longer exists."


class Db:
    """Hand-written SQL with ``?`` placeholders, rewritten to ``$n`` for PostgreSQL."""

    def __init__(self) -> None:
        self.conn = Tortoise.get_connection("default")
        self.pg = self.conn.capabilities.dialect == "postgres"
        self._sql: dict[str, str] = {}

    def sql(self, text: str) -> str:
        if not self.pg:
            return text
        if text not in self._sql:
            counter = iter(range(1, 10_000))
            self._sql[text] = re.sub(r"\?", lambda _: f"${next(counter)}", text)
        return self._sql[text]

    async def rows(self, text: str, *params: Any) -> list[dict[str, Any]]:
        return await self.conn.execute_query_dict(self.sql(text), list(params))

    def marks(self, n: int) -> str:
        return ", ".join("?" for _ in range(n))

    def now(self) -> Any:
        moment = datetime.now(timezone.utc)
        return moment if self.pg else str(moment)


def dt(value: Any) -> str | None:
    """A timestamp as strawberry writes it (``datetime.isoformat()``)."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite: str(datetime), as tortoise stores it
        return value.replace(" ", "T", 1)
    return value.astimezone(timezone.utc).isoformat()


def day(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else value.isoformat()


def as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def js(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def gid(type_name: str, pk: int) -> str:
    return ids.encode(type_name, pk)


class Baseline:
    def __init__(self, settings: Settings, plugins: Plugins) -> None:
        self.settings = settings
        self.plugins = plugins
        self._defs: dict[str, ProgramDef] = {}
        self.db: Db

    # --- shared pieces ------------------------------------------------------------------

    def definition(self, code: str, stored: Any = None) -> ProgramDef:
        if code not in self._defs:
            try:
                self._defs[code] = self.plugins.program(code)
            except ProgramUnavailable:
                return ProgramDef.from_json(js(stored))
        return self._defs[code]

    async def viewer(self, request: Request) -> dict[str, Any] | None:
        token = bearer_token(request)
        if not token or len(token) > 200:
            return None
        found = await self.db.rows(
            'SELECT u.id, u.username, u.email, u.name, u.role, u.active, u.partner_id '
            'FROM "session" s JOIN "user" u ON u.id = s.user_id '
            "WHERE s.token_hash = ? AND s.expires_at > ? AND u.active",
            auth.token_hash(token), self.db.now(),
        )
        return found[0] if found else None

    def visible(self, user: dict[str, Any], alias: str = "l") -> tuple[str, list[Any]]:
        """The SQL condition "the viewer may see this location" (admins see every one)."""
        if user["role"] == "ADMIN":
            return "1 = 1", []
        return (f"EXISTS (SELECT 1 FROM location_member m WHERE m.location_id = {alias}.id "
                "AND m.user_id = ?)"), [user["id"]]

    async def candidates(self, user_ids: list[int], location_ids: list[int]) -> tuple[
            dict[int, dict[str, Any]], dict[int, list[CertificationInfo]], set[tuple[int, int]]]:
        """People, their certifications and where they are staff (for the qualification rule)."""
        if not user_ids:
            return {}, {}, set()
        marks = self.db.marks(len(user_ids))
        people = {r["id"]: r for r in await self.db.rows(
            f'SELECT id, name, active FROM "user" WHERE id IN ({marks})', *user_ids)}
        certs: dict[int, list[CertificationInfo]] = defaultdict(list)
        for r in await self.db.rows(
            f"SELECT user_id, code, expires_on FROM certification WHERE user_id IN ({marks})", *user_ids
        ):
            certs[r["user_id"]].append(CertificationInfo(r["code"], as_date(r["expires_on"])))
        staff = {(r["user_id"], r["location_id"]) for r in await self.db.rows(
            f"SELECT user_id, location_id FROM location_staff WHERE user_id IN ({marks}) "
            f"AND location_id IN ({self.db.marks(len(location_ids))})", *user_ids, *location_ids)}
        return people, certs, staff

    def check_allocations(self, pdef: ProgramDef, evs: list[rules.Evaluation], people: dict[int, dict[str, Any]],
                          certs: dict[int, list[CertificationInfo]], staff: set[tuple[int, int]]) -> None:
        """Mark allocated people who no longer qualify, asking the plugins once per role (and
        staff flag) for all the evaluations, in the order smbselect asks."""
        by_role: dict[Any, list[tuple[rules.Evaluation, CandidateInfo]]] = defaultdict(list)
        for ev in evs:
            roles = {r.code: r for r in ev.job_roles}
            for role_code, uid in ev.allocations:
                role, person = roles.get(role_code), people.get(uid)
                if role is None or person is None:
                    ev.unqualified[(role_code, uid)] = EXISTS_MESSAGE
                    continue
                by_role[role].append((ev, CandidateInfo(uid, person["name"], bool(person["active"]),
                                                        (uid, ev.location.id) in staff, tuple(certs.get(uid, ())))))
        today = rules.today()
        for role, pairs in by_role.items():
            distinct = list({(c.user_id, c.is_staff): c for _, c in pairs}.values())
            answers: dict[tuple[int, bool], Any] = {}
            for flag in (True, False):
                group = [c for c in distinct if c.is_staff is flag]
                if group:
                    for uid, q in self.plugins.qualify(pdef, role, group, today).items():
                        answers[(uid, flag)] = q
            for ev, cand in pairs:
                q = answers[(cand.user_id, cand.is_staff)]
                if not q.qualified:
                    ev.unqualified[(role.code, cand.user_id)] = q.reason or "Not qualified."

    @staticmethod
    def blocker_json(b: Any) -> dict[str, Any]:
        return {"code": b.code, "message": b.message, "jobRoleCode": b.job_role_code,
                "documentCode": b.document_code}

    # --- reads --------------------------------------------------------------------------

    async def me(self, request: Request, body: dict[str, Any]) -> Any:
        user = await self.viewer(request)
        if user is None:
            return {"me": None}
        return {"me": {"id": gid("User", user["id"]), "username": user["username"], "email": user["email"],
                       "name": user["name"], "role": user["role"], "active": bool(user["active"])}}

    async def programs(self, request: Request, body: dict[str, Any]) -> Any:
        await self.require(request)
        out = []
        for row in await self.db.rows('SELECT id, code, active, definition FROM program ORDER BY active DESC, name, id'):
            d = self.definition(row["code"], row["definition"])
            out.append({
                "id": gid("Program", row["id"]), "code": d.code, "name": d.name, "description": d.description,
                "maxRolesPerPerson": d.max_roles_per_person, "reviewDays": d.review_days,
                "supportEmail": d.support_email or self.settings.support_email, "active": bool(row["active"]),
                "jobRoles": [{"code": r.code, "name": r.name, "acceptedCertifications": list(r.accepted_certifications),
                              "headcount": r.headcount} for r in d.job_roles],
                "requiredDocuments": [{"code": r.code, "name": r.name, "description": r.description,
                                       "acceptedContentTypes": list(r.accepted_content_types),
                                       "maxSizeBytes": r.max_size_bytes} for r in d.required_documents],
                "terms": {"version": d.terms.version, "format": d.terms.format, "locale": d.terms.locale,
                          "sha256": d.terms.sha256},
            })
        return {"programs": out}

    async def require(self, request: Request) -> dict[str, Any]:
        user = await self.viewer(request)
        if user is None:
            raise PermissionError
        return user

    async def in_progress(self, request: Request, body: dict[str, Any]) -> Any:
        user = await self.require(request)
        location_id = ids.decode(body.get("id", ""), "Location")
        cond, params = self.visible(user)
        found = await self.db.rows(
            f"SELECT l.id, l.name, l.country FROM location l WHERE l.id = ? AND {cond}", location_id, *params)
        if not found:
            return {"node": None}
        loc = found[0]
        apps = []
        for a in await self.db.rows(
            "SELECT a.id, a.status, a.round, a.invited_at, a.invitation_expires_at, a.submitted_at, "
            "a.review_due_on, a.decided_at, a.last_decision, a.program_id, p.code, p.definition "
            "FROM application a JOIN program p ON p.id = a.program_id WHERE a.location_id = ? "
            "ORDER BY a.program_id, a.id", location_id,
        ):
            d = self.definition(a["code"], a["definition"])
            apps.append({
                "id": gid("Application", a["id"]), "status": a["status"], "round": a["round"],
                "invitedAt": dt(a["invited_at"]), "invitationExpiresAt": dt(a["invitation_expires_at"]),
                "submittedAt": dt(a["submitted_at"]), "reviewDueOn": day(a["review_due_on"]),
                "decidedAt": dt(a["decided_at"]), "lastDecision": a["last_decision"],
                "program": {"id": gid("Program", a["program_id"]), "code": d.code, "name": d.name},
            })
        return {"node": {"id": gid("Location", loc["id"]), "name": loc["name"], "country": loc["country"],
                         "applications": apps}}

    async def qualified_staff(self, request: Request, body: dict[str, Any]) -> Any:
        user = await self.require(request)
        app_id = ids.decode(body.get("id", ""), "Application")
        cond, params = self.visible(user)
        found = await self.db.rows(
            "SELECT a.id, a.location_id, l.partner_id, l.name, l.country, p.code, p.definition "
            "FROM application a JOIN location l ON l.id = a.location_id JOIN program p ON p.id = a.program_id "
            f"WHERE a.id = ? AND {cond}", app_id, *params)
        if not found:
            return {"application": None}
        a = found[0]
        pdef = self.definition(a["code"], a["definition"])
        loc = LocationInfo(a["location_id"], a["partner_id"], a["name"], a["country"])
        roles = self.plugins.job_roles(pdef, [loc])[loc.id]
        people: dict[int, dict[str, Any]] = {}
        certs: dict[int, list[CertificationInfo]] = defaultdict(list)
        for r in await self.db.rows(
            'SELECT u.id, u.name, u.active, c.code, c.expires_on FROM location_staff s '
            'JOIN "user" u ON u.id = s.user_id LEFT JOIN certification c ON c.user_id = u.id '
            "WHERE s.location_id = ?", loc.id,
        ):
            people[r["id"]] = r
            if r["code"] is not None:
                certs[r["id"]].append(CertificationInfo(r["code"], as_date(r["expires_on"])))
        staff = [CandidateInfo(uid, p["name"], bool(p["active"]), True, tuple(certs[uid])) for uid, p in people.items()]
        today = rules.today()

        def drop_down(code: str) -> list[dict[str, Any]]:
            role = next((r for r in roles if r.code == code), None)
            if role is None or not staff:
                return []
            answers = self.plugins.qualify(pdef, role, staff, today)
            chosen = sorted((people[uid] for uid, q in answers.items() if q.qualified),
                            key=lambda p: (p["name"], p["id"]))
            return [{"id": gid("User", p["id"]), "name": p["name"]} for p in chosen]

        return {"application": {
            "id": gid("Application", a["id"]),
            "jobRoles": [{"code": r.code, "name": r.name} for r in roles],
            "am": drop_down("ACCOUNT_MANAGER"), "se": drop_down("SALES_ENGINEER"), "fe": drop_down("FIELD_ENGINEER"),
        }}

    async def queue(self, request: Request, body: dict[str, Any]) -> Any:
        user = await self.require(request)
        first = int(body.get("first") or 20)
        search = (body.get("search") or "").strip()
        where = ["status IN (?, ?)"]
        params: list[Any] = ["SUBMITTED", "CHANGES_REQUESTED"]
        if user["role"] != "ADMIN":
            where.append('EXISTS (SELECT 1 FROM location_member m WHERE m.location_id = "application".location_id '
                         "AND m.user_id = ?)")
            params.append(user["id"])
        if search:  # as smbselect.db.search does: the matching ids, or a check row by row
            needle, dialect = fold(search), self.db.conn.capabilities.dialect
            found = await names_matching(needle, dialect)
            if found is None:
                partners, partner_param = row_by_row("partner", "partner_id", needle, dialect)
                locations, location_param = row_by_row("location", "location_id", needle, dialect)
                where.append(f"(partner_id IN ({partners}) OR location_id IN ({locations}))")
                params += [partner_param, location_param]
            else:
                parts = [f"{column} IN ({self.db.marks(len(ids))})"
                         for column, ids in (("partner_id", found[0]), ("location_id", found[1])) if ids]
                where.append("(" + (" OR ".join(parts) or "1 = 0") + ")")
                params += [*found[0], *found[1]]
        # The page's ids from the applications alone (an index serves them in order), then
        # the rows with their joins.
        nulls_last = "CASE WHEN review_due_on IS NULL THEN 1 ELSE 0 END, review_due_on, id"
        rows = await self.db.rows(
            "SELECT a.id, a.status, a.submitted_at, a.review_due_on, a.terms_declined, a.program_id, "
            "a.location_id, p.code, p.active, p.definition, l.name AS l_name, l.country, l.partner_id, "
            "pa.name AS pa_name FROM application a JOIN program p ON p.id = a.program_id "
            "JOIN location l ON l.id = a.location_id JOIN partner pa ON pa.id = l.partner_id "
            f'WHERE a.id IN (SELECT id FROM "application" WHERE {" AND ".join(where)} '
            f"ORDER BY {nulls_last} LIMIT ?) "
            "ORDER BY (a.review_due_on IS NULL), a.review_due_on, a.id", *params, first + 1,
        )
        has_next = len(rows) > first
        rows = rows[:first]
        app_ids = [r["id"] for r in rows]
        allocations: dict[int, list[dict[str, Any]]] = defaultdict(list)
        if app_ids:
            for r in await self.db.rows(
                'SELECT ja.application_id, ja.role_code, ja.user_id, u.username, u.name FROM job_allocation ja '
                f'JOIN "user" u ON u.id = ja.user_id WHERE ja.application_id IN ({self.db.marks(len(app_ids))}) '
                "ORDER BY ja.id", *app_ids,
            ):
                allocations[r["application_id"]].append(r)
        roles_of = self.job_roles(rows)
        blockers = await self.blockers([r for r in rows if r["status"] in EDITABLE], allocations, roles_of)
        edges = []
        for r in rows:
            pdef = self.definition(r["code"], r["definition"])
            loc = LocationInfo(r["location_id"], r["partner_id"], r["l_name"], r["country"])
            roles = {x.code: x for x in roles_of[r["id"]]}
            due = day(r["review_due_on"])
            cursor = _encode([due, r["id"]])
            if r["status"] in EDITABLE:
                app_blockers = blockers[r["id"]]
            else:
                app_blockers = rules.Evaluation(
                    SimpleNamespace(status=ApplicationStatus(r["status"])), pdef, True, loc, [], [], None, [], [],
                ).blockers()
            edges.append({"cursor": cursor, "node": {
                "id": gid("Application", r["id"]), "status": r["status"], "submittedAt": dt(r["submitted_at"]),
                "reviewDueOn": due,
                "program": {"id": gid("Program", r["program_id"]), "code": pdef.code, "name": pdef.name},
                "location": {"id": gid("Location", r["location_id"]), "name": r["l_name"], "country": r["country"],
                             "partner": {"id": gid("Partner", r["partner_id"]), "name": r["pa_name"]}},
                "jobAllocations": [
                    {"role": {"code": x["role_code"], "name": roles[x["role_code"]].name if x["role_code"] in roles
                              else x["role_code"]},
                     "user": {"id": gid("User", x["user_id"]), "username": x["username"], "name": x["name"]}}
                    for x in allocations[r["id"]]
                ],
                "submitBlockers": [self.blocker_json(b) for b in app_blockers],
            }})
        return {"applications": {"edges": edges, "pageInfo": {
            "hasNextPage": has_next, "endCursor": edges[-1]["cursor"] if edges else None}}}

    def job_roles(self, rows: list[dict[str, Any]]) -> dict[int, list[Any]]:
        """The job roles of each application of a page: one plugin call per program."""
        by_program: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            by_program[r["code"]].append(r)
        out: dict[int, list[Any]] = {}
        for code, group in by_program.items():
            pdef = self.definition(code, group[0]["definition"])
            locs = {r["location_id"]: LocationInfo(r["location_id"], r["partner_id"], r["l_name"], r["country"])
                    for r in group}
            answer = self.plugins.job_roles(pdef, list(locs.values()))
            for r in group:
                out[r["id"]] = answer[r["location_id"]]
        return out

    async def blockers(self, rows: list[dict[str, Any]], allocations: dict[int, list[dict[str, Any]]],
                       roles_of: dict[int, list[Any]]) -> dict[int, list[Any]]:
        """Submit blockers of editable applications: terms, documents, the allocated people."""
        if not rows:
            return {}
        app_ids = [r["id"] for r in rows]
        marks = self.db.marks(len(app_ids))
        terms = {r["application_id"]: r for r in await self.db.rows(
            f"SELECT application_id, version FROM terms_acceptance WHERE application_id IN ({marks}) "
            "AND withdrawn_at IS NULL ORDER BY accepted_at", *app_ids)}
        documents: dict[int, list[Any]] = defaultdict(list)
        for d in await self.db.rows(
            f"SELECT application_id, requirement_code, status FROM document WHERE application_id IN ({marks}) "
            "AND NOT superseded ORDER BY uploaded_at, id", *app_ids,
        ):
            documents[d["application_id"]].append(
                SimpleNamespace(requirement_code=d["requirement_code"], status=DocumentStatus(d["status"])))
        user_ids = list({x["user_id"] for r in rows for x in allocations[r["id"]]})
        people, certs, staff = await self.candidates(user_ids, list({r["location_id"] for r in rows}))
        out: dict[int, list[Any]] = {}
        by_program: dict[str, list[rules.Evaluation]] = defaultdict(list)
        for r in rows:
            pdef = self.definition(r["code"], r["definition"])
            loc = LocationInfo(r["location_id"], r["partner_id"], r["l_name"], r["country"])
            roles = roles_of[r["id"]]
            pairs = [(x["role_code"], x["user_id"]) for x in allocations[r["id"]]]
            t = terms.get(r["id"])
            ev = rules.Evaluation(
                application=SimpleNamespace(id=r["id"], status=ApplicationStatus(r["status"]),
                                            terms_declined=bool(r["terms_declined"])),
                program=pdef, program_active=bool(r["active"]), location=loc, job_roles=roles,
                allocations=pairs, terms=SimpleNamespace(version=t["version"]) if t else None,
                documents=documents[r["id"]], required_documents=[],
            )
            by_program[pdef.code].append(ev)
        for code, evs in by_program.items():
            pdef = evs[0].program
            self.check_allocations(pdef, evs, people, certs, staff)
            infos = [ApplicationInfo(e.application.id, code, e.location, e.application.status.value,
                                     tuple(e.allocations), e.terms_current,
                                     tuple((d.requirement_code, d.status.value) for d in e.documents)) for e in evs]
            extra = self.plugins.submit_blockers(pdef, infos)
            for e in evs:
                e.plugin_blockers = extra.get(e.application.id, [])
                out[e.application.id] = e.blockers()
        return out

    async def one(self, request: Request, body: dict[str, Any]) -> Any:
        user = await self.require(request)
        app_id = ids.decode(body.get("id", ""), "Application")
        cond, params = self.visible(user)
        found = await self.db.rows(
            "SELECT a.*, p.code, p.active AS p_active, p.definition, l.name AS l_name, l.country, "
            "l.partner_id AS l_partner_id, pa.name AS pa_name, pa.registered "
            "FROM application a JOIN program p ON p.id = a.program_id JOIN location l ON l.id = a.location_id "
            f"JOIN partner pa ON pa.id = l.partner_id WHERE a.id = ? AND {cond}", app_id, *params)
        if not found:
            return {"application": None}
        a = found[0]
        admin = user["role"] == "ADMIN"
        pdef = self.definition(a["code"], a["definition"])
        loc = LocationInfo(a["location_id"], a["l_partner_id"], a["l_name"], a["country"])
        roles = self.plugins.job_roles(pdef, [loc])[loc.id]
        by_code = {r.code: r for r in roles}
        allocs = await self.db.rows(
            'SELECT ja.role_code, ja.user_id, u.username, u.name, u.email, u.active FROM job_allocation ja '
            'JOIN "user" u ON u.id = ja.user_id WHERE ja.application_id = ? ORDER BY ja.id', app_id)
        pairs = [(x["role_code"], x["user_id"]) for x in allocs]
        user_ids = list({uid for _, uid in pairs})
        certs: dict[int, list[dict[str, Any]]] = defaultdict(list)
        staff: set[tuple[int, int]] = set()
        if user_ids:
            marks = self.db.marks(len(user_ids))
            for c in await self.db.rows(
                f"SELECT user_id, code, expires_on FROM certification WHERE user_id IN ({marks}) ORDER BY code",
                *user_ids,
            ):
                certs[c["user_id"]].append(c)
            staff = {(r["user_id"], loc.id) for r in await self.db.rows(
                f"SELECT user_id FROM location_staff WHERE location_id = ? AND user_id IN ({marks})",
                loc.id, *user_ids)}
        terms = await self.db.rows(
            'SELECT t.version, t.sha256, t.accepted_at, t.user_id, u.username FROM terms_acceptance t '
            'JOIN "user" u ON u.id = t.user_id WHERE t.application_id = ? AND t.withdrawn_at IS NULL '
            "ORDER BY t.accepted_at", app_id)
        term = terms[-1] if terms else None
        docs = await self.db.rows(
            'SELECT d.*, u.name AS u_name FROM document d JOIN "user" u ON u.id = d.uploaded_by_id '
            "WHERE d.application_id = ? ORDER BY d.uploaded_at, d.id", app_id)
        current = [SimpleNamespace(requirement_code=d["requirement_code"], status=DocumentStatus(d["status"]))
                   for d in docs if not d["superseded"]]
        status = ApplicationStatus(a["status"])
        ev = rules.Evaluation(
            application=SimpleNamespace(id=a["id"], status=status, terms_declined=bool(a["terms_declined"])),
            program=pdef, program_active=bool(a["p_active"]), location=loc, job_roles=roles, allocations=pairs,
            terms=SimpleNamespace(version=term["version"]) if term else None, documents=current,
            required_documents=[],
        )
        info = ev.info()
        ev.required_documents = self.plugins.required_documents(pdef, [info])[a["id"]]
        if status in EDITABLE:  # other statuses' blockers are INVALID_STATUS alone, as in the queue
            people = {x["user_id"]: x for x in allocs}
            cert_infos = {uid: [CertificationInfo(c["code"], as_date(c["expires_on"])) for c in cs]
                          for uid, cs in certs.items()}
            self.check_allocations(pdef, [ev], people, cert_infos, staff)
            ev.plugin_blockers = self.plugins.submit_blockers(pdef, [info])[a["id"]]
        events = await self.db.rows(
            'SELECT e.occurred_at, e.kind, e.from_status, e.to_status, e.comment, e.actor_name, e.actor_role, '
            'u.id AS u_id, u.role AS u_role FROM application_event e LEFT JOIN "user" u ON u.id = e.actor_id '
            "WHERE e.application_id = ? ORDER BY e.occurred_at, e.id", app_id)
        emails = await self.db.rows(
            'SELECT id, "to", subject, status, attempts, sent_at FROM email_message WHERE application_id = ? '
            "ORDER BY id", app_id) if admin else []
        blockers = ev.blockers()

        def actor(e: dict[str, Any]) -> Any:
            if e["actor_name"] is None or e["actor_role"] is None:
                return None
            seen = e["u_id"] is not None and (admin or e["u_role"] != "ADMIN")
            return {"name": e["actor_name"], "role": e["actor_role"],
                    "user": {"id": gid("User", e["u_id"])} if seen else None}

        def doc_req(d: Any, full: bool) -> dict[str, Any]:
            return {"code": d.code, "name": d.name} if full else {"code": d.code}

        return {"application": {
            "id": gid("Application", a["id"]), "status": a["status"], "round": a["round"],
            "invitedAt": dt(a["invited_at"]), "invitationExpiresAt": dt(a["invitation_expires_at"]),
            "submittedAt": dt(a["submitted_at"]), "reviewDueOn": day(a["review_due_on"]),
            "decidedAt": dt(a["decided_at"]), "lastDecision": a["last_decision"],
            "decisionComment": a["decision_comment"],
            "program": {"id": gid("Program", a["program_id"]), "code": pdef.code, "name": pdef.name,
                        "active": bool(a["p_active"])},
            "location": {"id": gid("Location", loc.id), "name": loc.name, "country": loc.country,
                         "partner": {"id": gid("Partner", loc.partner_id), "name": a["pa_name"],
                                     "registered": bool(a["registered"])}},
            "jobRoles": [{"code": r.code, "name": r.name, "acceptedCertifications": list(r.accepted_certifications),
                          "headcount": r.headcount} for r in roles],
            "jobAllocations": [
                {"role": {"code": x["role_code"], "name": by_code[x["role_code"]].name if x["role_code"] in by_code
                          else x["role_code"]},
                 "user": {"id": gid("User", x["user_id"]), "username": x["username"], "name": x["name"],
                          "email": x["email"], "certifications": [
                              {"code": c["code"], "expiresOn": day(c["expires_on"])} for c in certs[x["user_id"]]]}}
                for x in allocs
            ],
            "missingJobRoles": [{"code": r.code, "name": r.name} for r in ev.missing_job_roles],
            "termsAcceptance": None if term is None else {
                "version": term["version"], "sha256": term["sha256"], "acceptedAt": dt(term["accepted_at"]),
                "user": {"id": gid("User", term["user_id"]), "username": term["username"]}},
            "requiredDocuments": [doc_req(d, True) for d in ev.required_documents],
            "missingDocuments": [doc_req(d, False) for d in ev.missing_documents],
            "documents": [{
                "id": gid("Document", d["id"]), "requirementCode": d["requirement_code"], "filename": d["filename"],
                "contentType": d["content_type"], "size": d["size"], "status": d["status"],
                "reviewComment": d["review_comment"], "uploadedAt": dt(d["uploaded_at"]),
                "reviewedAt": dt(d["reviewed_at"]), "superseded": bool(d["superseded"]),
                "uploadedBy": {"id": gid("User", d["uploaded_by_id"]), "name": d["u_name"]},
            } for d in docs],
            "canSubmit": not blockers,
            "submitBlockers": [self.blocker_json(b) for b in blockers],
            "events": [{"occurredAt": dt(e["occurred_at"]), "kind": e["kind"], "fromStatus": e["from_status"],
                        "toStatus": e["to_status"], "comment": e["comment"], "actor": actor(e)} for e in events],
            "emails": [{"id": gid("EmailMessage", m["id"]), "to": js(m["to"]), "subject": m["subject"],
                        "status": m["status"], "attempts": m["attempts"], "sentAt": dt(m["sent_at"])}
                       for m in emails],
        }}

    # --- mutations: the same resolver functions, no GraphQL -----------------------------

    async def context(self, request: Request) -> Context:
        ctx = Context(settings=self.settings, plugins=self.plugins,
                      client_ip=request.client.host if request.client else None, request=request)
        found = await auth.authenticate(bearer_token(request))
        if found is not None:
            ctx.user, ctx.session_id = found
        return ctx

    @staticmethod
    def user_errors(error: DomainError) -> list[dict[str, Any]]:
        return [{"code": p.code.value, "field": list(p.field) if p.field is not None else None,
                 "message": p.message} for p in error.problems]

    async def save(self, request: Request, body: dict[str, Any]) -> Any:
        ctx = await self.context(request)
        data = body.get("input") or {}
        items = [applications.AllocationInput(a["jobRoleCode"], ids.decode(a["userId"], "User"))
                 for a in data.get("allocations", [])]
        try:
            row = await applications.save_allocations(ctx, ids.decode(data.get("applicationId", ""), "Application"),
                                                      items)
        except DomainError as error:
            return {"jobAllocationsSave": {"application": None, "userErrors": self.user_errors(error)}}
        ev = await evaluations.of(ctx, row)
        pairs = await evaluations.allocations(ctx, row)
        return {"jobAllocationsSave": {"application": {
            "id": gid("Application", row.id), "status": row.status.value,
            "jobAllocations": [{"role": {"code": role.code}, "user": {"id": gid("User", u.id), "name": u.name}}
                               for role, u in pairs],
            "missingJobRoles": [{"code": r.code} for r in ev.missing_job_roles],
            "canSubmit": ev.can_submit,
            "submitBlockers": [{"code": b.code, "message": b.message} for b in ev.blockers()],
        }, "userErrors": []}}

    async def submit(self, request: Request, body: dict[str, Any]) -> Any:
        ctx = await self.context(request)
        data = body.get("input") or {}
        try:
            row = await applications.submit(ctx, ids.decode(data.get("applicationId", ""), "Application"))
        except DomainError as error:
            return {"applicationSubmit": {"application": None, "userErrors": self.user_errors(error)}}
        return {"applicationSubmit": {"application": {
            "id": gid("Application", row.id), "status": row.status.value,
            "submittedAt": dt(row.submitted_at), "reviewDueOn": day(row.review_due_on),
        }, "userErrors": []}}

    async def login(self, request: Request, body: dict[str, Any]) -> Any:
        ctx = await self.context(request)
        data = body.get("input") or {}
        try:
            r = await auth.login(ctx, data.get("username", ""), data.get("password", ""))
        except DomainError as error:
            return {"login": {"token": None, "expiresAt": None, "user": None, "userErrors": self.user_errors(error)}}
        return {"login": {"token": r.token, "expiresAt": dt(r.expires_at), "user": {
            "id": gid("User", r.user.id), "username": r.user.username, "name": r.user.name, "role": r.user.role.value,
        }, "userErrors": []}}


def _encode(values: list[Any]) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


OPS = ("me", "programs", "in_progress", "qualified_staff", "queue", "one", "save", "submit", "login")


def create_app(settings: Settings | None = None, plugins: Plugins | None = None) -> Starlette:
    settings = settings or get_settings()
    plugins = plugins or Plugins.load(settings.plugins)
    base = Baseline(settings, plugins)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await open_db(settings.database_url)
        base.db = Db()
        try:
            yield
        finally:
            await close_db()

    def route(name: str) -> Any:
        handler = getattr(base, name)

        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            body = json.loads(raw) if raw else {}
            try:
                data = await handler(request, body)
            except PermissionError:
                return JSONResponse({"data": None, "errors": [{"message": "Log in first."}]}, status_code=401)
            return JSONResponse({"data": data})

        return endpoint

    async def readyz(request: Request) -> Response:
        await base.db.rows("SELECT 1")
        return JSONResponse({"status": "ok"})

    routes = [Route(f"/op/{name}", route(name), methods=["POST"]) for name in OPS]
    routes.append(Route("/op/search", route("queue"), methods=["POST"]))
    routes.append(Route("/readyz", readyz))
    import os

    middleware = [Middleware(SqlCountHeader)] if os.environ.get("SMBSELECT_COUNT_SQL") == "1" else []
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


def main() -> None:
    """Serve the baseline with uvicorn, as ``smbselect serve`` serves smbselect."""
    import argparse

    import uvicorn

    from smbselect.logs import configure_logging

    parser = argparse.ArgumentParser(prog="python -m bench.baseline")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    configure_logging(get_settings())
    uvicorn.run("bench.baseline:app_factory", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="info", proxy_headers=False, lifespan="on")


def app_factory() -> Starlette:
    return create_app()


if __name__ == "__main__":
    main()

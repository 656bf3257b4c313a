"""Generate a benchmark data set into SQLite or PostgreSQL, fast.

The schema is made by the real migrations and the programs by the real ``sync_programs``
(SMB Select, and SMB Select Pro from :mod:`bench.second_program`); everything else is
written with bulk inserts that bypass the ORM: ``executemany`` in large transactions on
SQLite, ``COPY`` (asyncpg's ``copy_records_to_table``) on PostgreSQL. Rows are made
partner by partner in blocks, so memory stays flat whatever the size.

Per partner: 2 locations; per location 3 people (a partner user who logs in and acts for
the location, and who is staff too, plus 2 staff), each holding one certification; one
application per location and program (so 4 per partner) in every status, with the
allocations, terms acceptances, documents, audit events and emails its status implies.
Defaults (``--partners 100000``): 200,000 locations, 600,000 people, 400,000 applications;
``--scale 2.5`` makes 1,000,000 applications.

Next to the data it writes a manifest (JSON): the tokens of the sessions it created and
pools of applications for each operation of the benchmark (``bench.operations``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from smbselect.db.models import fold

PASSWORD = "bench-password-1"
ADMIN_USERNAME = "bench.admin"
SEARCH = "bilişim"  # folded: matches partners named "... Bilişim ..." (about 1 in 16)
POOL_CAP = 20_000

LOCATIONS_PER_PARTNER = 2
PEOPLE_PER_LOCATION = 3

# Words of partner and location names: some non-ASCII, so searches exercise folding.
PARTNER_WORDS_A = (
    "Alpine", "Nordic", "Türk", "Équipe", "Metro", "Bright", "Delta", "Blue", "Prime",
    "Østlandet", "Swift", "Urban", "Core", "Next", "Rapid", "Smart",
)
PARTNER_WORDS_B = (
    "Networks", "Bilişim", "Systems", "Telekom", "Solutions", "Data", "Connect", "Link",
    "Cloud", "Digital", "Netzwerke", "Informatique", "Teknoloji", "Services", "Partners", "IT",
)
CITIES = (
    ("Wien", "AT"), ("İstanbul", "TR"), ("München", "DE"), ("Zürich", "CH"), ("Oslo", "NO"),
    ("Shanghai", "CN"), ("Lyon", "FR"), ("Kraków", "PL"), ("Málaga", "ES"), ("Göteborg", "SE"),
    ("Ankara", "TR"), ("Graz", "AT"), ("Bergen", "NO"), ("Köln", "DE"), ("Porto", "PT"),
)
FIRST = ("Li", "Anna", "Mehmet", "Zoë", "Ole", "Chen", "Ayşe", "Jürgen", "Marie", "Lars",
         "Wei", "Elif", "Pablo", "Ingrid", "Tomás", "Sven")
LAST = ("Wei", "Huber", "Kaya", "Hansen", "Jing", "Yılmaz", "Müller", "Dubois", "Berg",
        "Nowak", "García", "Lindström", "Rossi", "Öztürk", "Novák", "Schmidt")

STATUS_WEIGHTS = (
    ("IN_PROGRESS", 0.12), ("NOT_SUBMITTED", 0.20), ("SUBMITTED", 0.20),
    ("CHANGES_REQUESTED", 0.06), ("APPROVED", 0.26), ("REJECTED", 0.06),
    ("WITHDRAWN", 0.05), ("EXPIRED", 0.05),
)
STARTED = {"NOT_SUBMITTED", "SUBMITTED", "CHANGES_REQUESTED", "APPROVED", "REJECTED", "WITHDRAWN"}
SUBMITTED_ONCE = {"SUBMITTED", "CHANGES_REQUESTED", "APPROVED", "REJECTED"}
DECIDED = {"CHANGES_REQUESTED", "APPROVED", "REJECTED"}

# Columns of each table, in the order rows are made (ids are always explicit).
COLUMNS: dict[str, tuple[str, ...]] = {
    "partner": ("id", "name", "name_fold", "registered", "created_at"),
    "location": ("id", "partner_id", "name", "name_fold", "country", "created_at"),
    "user": ("id", "username", "email", "name", "search_fold", "role", "partner_id",
             "password_hash", "active", "created_at", "updated_at"),
    "location_member": ("id", "location_id", "user_id"),
    "location_staff": ("id", "location_id", "user_id"),
    "certification": ("id", "user_id", "code", "expires_on"),
    "session": ("id", "user_id", "token_hash", "created_at", "expires_at"),
    "invitation": ("id", "program_id", "partner_id", "invited_by_id", "sent_at", "expires_at"),
    "invitation_link": ("id", "invitation_id", "user_id", "token_hash", "expires_at", "accepted_at"),
    "application": ("id", "program_id", "location_id", "partner_id", "status", "round", "version",
                    "invitation_id", "invited_at", "invitation_expires_at", "submitted_at",
                    "review_due_on", "decided_at", "last_decision", "decision_comment",
                    "terms_declined", "updated_at"),
    "invitation_application": ("id", "invitation_id", "application_id"),
    "job_allocation": ("id", "application_id", "role_code", "user_id"),
    "terms_acceptance": ("id", "application_id", "user_id", "username", "version", "sha256",
                         "accepted_at", "withdrawn_at"),
    "document": ("id", "application_id", "requirement_code", "filename", "content_type", "size",
                 "sha256", "storage_name", "status", "review_comment", "reviewed_by_id",
                 "reviewed_at", "uploaded_at", "uploaded_by_id", "superseded"),
    "application_event": ("id", "application_id", "round", "occurred_at", "actor_id", "actor_name",
                          "actor_role", "kind", "from_status", "to_status", "comment", "data",
                          "observed_at"),
    "email_message": ("id", "to", "cc", "subject", "body_text", "body_html", "message_id", "kind",
                      "status", "attempts", "last_error", "queued_at", "next_attempt_at",
                      "claimed_until", "sent_at", "application_id", "invitation_id"),
}
ORDER = tuple(COLUMNS)  # foreign keys point backwards in this order
JSON_COLUMNS = {("application_event", "data"), ("email_message", "to"), ("email_message", "cc")}


def token_for(user_id: int) -> str:
    """The bearer token of the session the generator opens for a user (benchmark data only)."""
    return f"bench-token-{user_id}"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def add_business_days(start: date, days: int) -> date:
    current, remaining = start, days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


@dataclass
class Size:
    partners: int = 100_000

    @property
    def locations(self) -> int:
        return self.partners * LOCATIONS_PER_PARTNER

    @property
    def people(self) -> int:
        return self.locations * PEOPLE_PER_LOCATION

    @property
    def applications(self) -> int:
        return self.locations * 2


@dataclass
class Programs:
    """What the generator needs of the two programs (ids as synced, terms, roles)."""

    smb_id: int
    pro_id: int
    smb_terms: tuple[str, str]
    pro_terms: tuple[str, str]
    smb_review_days: int
    pro_review_days: int


@dataclass
class Manifest:
    database_url: str
    partners: int
    admin_id: int
    admin_token: str
    password: str
    search: str
    counts: dict[str, int] = field(default_factory=dict)
    members: list[list[Any]] = field(default_factory=list)  # [user id, username, location id, token]
    qualified_staff: list[list[Any]] = field(default_factory=list)  # [token, app id]
    save: list[list[Any]] = field(default_factory=list)  # [token, app id, [[role, user id], ...]]
    submit: list[list[Any]] = field(default_factory=list)  # [token, app id]
    one: list[int] = field(default_factory=list)  # app ids (admin)
    seconds: float = 0.0

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, ensure_ascii=False))

    @classmethod
    def read(cls, path: Path) -> Manifest:
        return cls(**json.loads(path.read_text()))


def manifest_path(database_url: str, directory: Path | None = None) -> Path:
    """Where the manifest of a data set lives: beside the SQLite file, or in bench/data."""
    if database_url.startswith("sqlite"):
        return Path(database_url.split("://", 1)[1] + ".bench.json")
    name = database_url.rsplit("/", 1)[1].split("?")[0]
    base = directory or Path(__file__).with_name("data")
    base.mkdir(parents=True, exist_ok=True)
    return base / f"{name}.bench.json"


class Rows:
    """The rows of one block of partners, by table."""

    def __init__(self) -> None:
        self.tables: dict[str, list[tuple[Any, ...]]] = {t: [] for t in ORDER}

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.tables[table].append(row)

    def count(self) -> int:
        return sum(len(r) for r in self.tables.values())


class Generator:
    """Makes rows partner by partner; ids are explicit and counted here."""

    def __init__(self, size: Size, programs: Programs, password_hash: str, seed: int = 42) -> None:
        self.size = size
        self.p = programs
        self.password_hash = password_hash
        self.rng = random.Random(seed)
        self.now = datetime.now(timezone.utc).replace(microsecond=0)
        self.today = self.now.date()
        self.next_id: dict[str, int] = {t: 1 for t in ORDER}
        self.admin_id = 1
        self.next_id["user"] = 2
        self.next_id["session"] = 2
        self.manifest_pools: dict[str, list[Any]] = {
            "members": [], "qualified_staff": [], "save": [], "submit": [], "one": []
        }
        # Spread the pools over the whole data set: keep every n-th candidate.
        self.stride = max(1, size.locations // 5000)
        weights = [w for _, w in STATUS_WEIGHTS]
        self.statuses = [s for s, _ in STATUS_WEIGHTS]
        self.cum = [sum(weights[: i + 1]) for i in range(len(weights))]

    def nid(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    def status(self) -> str:
        x = self.rng.random() * self.cum[-1]
        for s, c in zip(self.statuses, self.cum):
            if x < c:
                return s
        return self.statuses[-1]

    def admin_rows(self, rows: Rows) -> None:
        name = "Bench Admin"
        email = "bench.admin@example.com"
        rows.add("user", (self.admin_id, ADMIN_USERNAME, email, name, fold(name, ADMIN_USERNAME, email),
                          "ADMIN", None, self.password_hash, True, self.now, self.now))
        rows.add("session", (1, self.admin_id, sha(token_for(self.admin_id)), self.now,
                             self.now + timedelta(days=365)))

    def block(self, first_partner: int, last_partner: int) -> Rows:
        rows = Rows()
        if first_partner == 1:
            self.admin_rows(rows)
        for pid in range(first_partner, last_partner + 1):
            self.partner(rows, pid)
        return rows

    def partner(self, rows: Rows, pid: int) -> None:
        rng, now = self.rng, self.now
        name = f"{rng.choice(PARTNER_WORDS_A)} {rng.choice(PARTNER_WORDS_B)} {pid:06d}"
        created = now - timedelta(days=400 + pid % 300)
        rows.add("partner", (pid, name, fold(name), pid % 50 != 0, created))
        invitations = []
        for program_id in (self.p.smb_id, self.p.pro_id):
            iid = self.nid("invitation")
            sent = now - timedelta(days=rng.randint(1, 60))
            rows.add("invitation", (iid, program_id, pid, self.admin_id, sent, sent + timedelta(days=30)))
            invitations.append((iid, program_id, sent))
        for j in range(LOCATIONS_PER_PARTNER):
            lid = (pid - 1) * LOCATIONS_PER_PARTNER + j + 1
            city, country = rng.choice(CITIES)
            lname = f"{name.rsplit(' ', 1)[0]} {city} {lid:07d}"
            rows.add("location", (lid, pid, lname, fold(lname), country, created))
            people = [self.person(rows, pid, lid, k) for k in range(PEOPLE_PER_LOCATION)]
            member = people[0]
            rows.add("location_member", (self.nid("location_member"), lid, member[0]))
            for iid, _program_id, sent in invitations:
                rows.add("invitation_link", (self.nid("invitation_link"), iid, member[0],
                                             sha(f"bench-link-{iid}-{member[0]}"),
                                             sent + timedelta(days=30), sent + timedelta(hours=3)))
            keep = lid % self.stride == 0
            if keep:
                self.manifest_pools["members"].append([member[0], member[1], lid, token_for(member[0])])
            for iid, program_id, sent in invitations:
                self.application(rows, pid, lid, iid, program_id, sent, people, keep)

    def person(self, rows: Rows, pid: int, lid: int, k: int) -> tuple[int, str, str, bool]:
        """(user id, username, name, certification valid) of the k-th person of a location."""
        rng, now = self.rng, self.now
        uid = self.nid("user")
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first} {last}"
        username = f"{fold(first)}.{fold(last)}.{uid}".encode("ascii", "ignore").decode()
        email = f"{username}@example.com"
        member = k == 0
        rows.add("user", (uid, username, email, name, fold(name, username, email), "PARTNER", pid,
                          self.password_hash if member else None, True, now, now))
        rows.add("location_staff", (self.nid("location_staff"), lid, uid))
        if k == 0:
            code, expires = "CSA", None
        elif k == 1:
            code, expires = "CSE", self.today + timedelta(days=365)
        else:
            code = "CSE"
            expires = self.today - timedelta(days=30) if rng.random() < 0.1 else self.today + timedelta(days=200)
        rows.add("certification", (self.nid("certification"), uid, code, expires))
        if member:
            rows.add("session", (self.nid("session"), uid, sha(token_for(uid)), now, now + timedelta(days=365)))
        return uid, username, name, expires is None or expires >= self.today

    def application(self, rows: Rows, pid: int, lid: int, iid: int, program_id: int, sent: datetime,
                    people: list[tuple[int, str, str, bool]], keep: bool) -> None:
        rng, now = self.rng, self.now
        smb = program_id == self.p.smb_id
        aid = (lid - 1) * 2 + (0 if smb else 1) + 1
        status = self.status()
        member, k1, k2 = people
        invited = sent
        expires = invited + timedelta(days=30)
        if status == "IN_PROGRESS":
            invited = now - timedelta(days=rng.randint(1, 20))
            expires = invited + timedelta(days=30)
        elif status == "EXPIRED":
            invited = now - timedelta(days=rng.randint(31, 90))
            expires = invited + timedelta(days=30)
        started = invited + timedelta(hours=rng.randint(1, 48))
        version = 1
        events: list[tuple[datetime, int | None, str, str | None, str | None, str | None, dict]] = [
            (invited, self.admin_id, "INVITED", None, "IN_PROGRESS", None, {})
        ]
        if status == "EXPIRED":
            events.append((expires, None, "EXPIRED", "IN_PROGRESS", "EXPIRED", None, {}))
        allocations: list[tuple[str, int]] = []
        full = status in SUBMITTED_ONCE or (status in ("NOT_SUBMITTED", "WITHDRAWN") and rng.random() < 0.7)
        if status in STARTED:
            events.append((started, member[0], "STARTED", "IN_PROGRESS", "NOT_SUBMITTED", None, {}))
            if smb:
                allocations = [("ACCOUNT_MANAGER", k1[0]), ("SALES_ENGINEER", member[0]),
                               ("FIELD_ENGINEER", k2[0])]
            else:
                allocations = [("TECHNICAL_LEAD", k1[0]), ("SUPPORT_ENGINEER", member[0])]
            if not full:
                allocations = allocations[:1]
            for role, user in allocations:
                rows.add("job_allocation", (self.nid("job_allocation"), aid, role, user))
            events.append((started + timedelta(minutes=10), member[0], "JOB_ALLOCATIONS_SAVED", None, None,
                           None, {"allocations": [[r, u] for r, u in allocations]}))
            version += 1
        terms = self.p.smb_terms if smb else self.p.pro_terms
        has_terms = status in SUBMITTED_ONCE or (status == "NOT_SUBMITTED" and full and rng.random() < 0.85)
        accepted_at = started + timedelta(minutes=20)
        if has_terms:
            withdrawn = accepted_at + timedelta(days=3) if status == "CHANGES_REQUESTED" else None
            rows.add("terms_acceptance", (self.nid("terms_acceptance"), aid, member[0], member[1],
                                          terms[0], terms[1], accepted_at, withdrawn))
            events.append((accepted_at, member[0], "TERMS_ACCEPTED", None, None, None,
                           {"version": terms[0], "sha256": terms[1]}))
            version += 1
        if not smb and (status in SUBMITTED_ONCE or (status == "NOT_SUBMITTED" and rng.random() < 0.5)):
            for n, code in enumerate(("BUSINESS_REGISTRATION", "PARTNER_AGREEMENT")):
                doc_status = {"APPROVED": "ACCEPTED", "REJECTED": "ACCEPTED"}.get(status, "PENDING")
                comment = None
                if status == "CHANGES_REQUESTED":
                    doc_status = "REJECTED" if n == 1 else "ACCEPTED"
                    comment = "The signature is missing." if n == 1 else None
                did = self.nid("document")
                up = accepted_at + timedelta(minutes=5 + n)
                reviewed = doc_status != "PENDING"
                rows.add("document", (did, aid, code, f"{code.lower()}.pdf", "application/pdf",
                                      120_000 + n * 1000, sha(f"doc-{did}"), f"bench-{did:012d}",
                                      doc_status, comment, self.admin_id if reviewed else None,
                                      up + timedelta(days=1) if reviewed else None, up, member[0], False))
                events.append((up, member[0], "DOCUMENT_UPLOADED", None, None, None,
                               {"document": did, "requirement": code}))
        submitted_at = review_due = decided_at = last_decision = comment = None
        if status in SUBMITTED_ONCE:
            submitted_at = accepted_at + timedelta(hours=1)
            if status == "SUBMITTED":  # the queue spreads over the last few weeks and the coming ones
                submitted_at = now - timedelta(days=rng.randint(0, 20), minutes=rng.randint(0, 1440))
            elif status == "CHANGES_REQUESTED":  # sent back lately: mixed with SUBMITTED in the queue
                submitted_at = now - timedelta(days=rng.randint(5, 25), minutes=rng.randint(0, 1440))
            days = self.p.smb_review_days if smb else self.p.pro_review_days
            review_due = add_business_days(submitted_at.date(), days)
            events.append((submitted_at, member[0], "SUBMITTED", "NOT_SUBMITTED", "SUBMITTED", None, {}))
            rows.add("email_message", (
                self.nid("email_message"), [f"{member[1]}@example.com"], [],
                "Application submitted", "Your application was submitted.", None,
                f"<bench-{aid}@smbselect.local>", "application_submitted", "SENT", 1, None,
                submitted_at, submitted_at, None, submitted_at + timedelta(seconds=2), aid, None,
            ))
            version += 1
        if status in DECIDED:
            decided_at = submitted_at + timedelta(days=rng.randint(1, 4))
            last_decision = status
            comment = None if status == "APPROVED" else "Please name another field engineer."
            events.append((decided_at, self.admin_id, "DECIDED", "SUBMITTED", status, comment, {}))
            version += 1
        if status == "WITHDRAWN":
            events.append((started + timedelta(days=2), member[0], "WITHDRAWN", "NOT_SUBMITTED",
                           "WITHDRAWN", None, {}))
            version += 1
        rows.add("application", (aid, program_id, lid, pid, status, 1, version, iid, invited, expires,
                                 submitted_at, review_due, decided_at, last_decision, comment, False,
                                 decided_at or submitted_at or invited))
        rows.add("invitation_application", (self.nid("invitation_application"), iid, aid))
        names = {member[0]: member[2], k1[0]: k1[2], k2[0]: k2[2]}
        for at, actor, kind, from_s, to_s, text, data in events:
            role = None if actor is None else ("ADMIN" if actor == self.admin_id else "PARTNER")
            actor_name = None if actor is None else ("Bench Admin" if actor == self.admin_id else names[actor])
            rows.add("application_event", (self.nid("application_event"), aid, 1, at, actor, actor_name,
                                           role, kind, from_s, to_s, text, data, at))
        if not keep:
            return
        pools = self.manifest_pools
        token = token_for(member[0])
        if status == "NOT_SUBMITTED" and smb:
            pools["qualified_staff"].append([token, aid])
            if full and has_terms and k2[3]:
                pools["submit"].append([token, aid])
        if status == "NOT_SUBMITTED" and not smb:
            pools["save"].append([token, aid, [["TECHNICAL_LEAD", k1[0]], ["SUPPORT_ENGINEER", member[0]]]])
        if status in SUBMITTED_ONCE:
            pools["one"].append(aid)


# --- writers ----------------------------------------------------------------------------


class SqliteWriter:
    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA foreign_keys=OFF")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA cache_size=-200000")
        self.sql = {
            t: f'INSERT INTO "{t}" ({", ".join(chr(34) + c + chr(34) for c in cols)}) '
               f'VALUES ({", ".join("?" for _ in cols)})'
            for t, cols in COLUMNS.items()
        }
        self.json_idx = {t: [i for i, c in enumerate(cols) if (t, c) in JSON_COLUMNS] for t, cols in COLUMNS.items()}

    @staticmethod
    def _value(v: Any) -> Any:
        if isinstance(v, datetime):
            return str(v)  # what tortoise stores: "2026-01-02 03:04:05+00:00"
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, bool):
            return int(v)
        return v

    async def write(self, rows: Rows) -> None:
        conv = self._value
        self.conn.execute("BEGIN")
        for table in ORDER:
            data = rows.tables[table]
            if not data:
                continue
            jidx = self.json_idx[table]
            out = []
            for row in data:
                r = [conv(v) for v in row]
                for i in jidx:
                    r[i] = json.dumps(r[i], separators=(",", ":"), ensure_ascii=False)
                out.append(r)
            self.conn.executemany(self.sql[table], out)
        self.conn.execute("COMMIT")

    async def finish(self) -> None:
        self.conn.execute("ANALYZE")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.close()


class PostgresWriter:
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.json_idx = {t: [i for i, c in enumerate(cols) if (t, c) in JSON_COLUMNS] for t, cols in COLUMNS.items()}

    async def write(self, rows: Rows) -> None:
        async with self.conn.transaction():
            for table in ORDER:
                data = rows.tables[table]
                if not data:
                    continue
                jidx = self.json_idx[table]
                if jidx:
                    fixed = []
                    for row in data:
                        r = list(row)
                        for i in jidx:
                            r[i] = json.dumps(r[i], separators=(",", ":"), ensure_ascii=False)
                        fixed.append(r)
                    data = fixed
                await self.conn.copy_records_to_table(table, records=data, columns=list(COLUMNS[table]))

    async def finish(self) -> None:
        for table in ORDER:
            await self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM \"{table}\"), false)"
            )
        await self.conn.execute("ANALYZE")
        await self.conn.close()


# --- the command ------------------------------------------------------------------------


async def _prepare(database_url: str, fresh: bool) -> Programs:
    """Migrate, sync the programs (with the bench plugin), and check the data set is empty."""
    from smbselect.db.connect import apply_migrations, close_db, open_db
    from smbselect.db.models import Partner, Program
    from smbselect.plugins.manager import Plugins
    from smbselect.resolvers.programs import sync_programs

    if database_url.startswith("sqlite"):
        path = Path(database_url.split("://", 1)[1])
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        await _ensure_pg_database(database_url, fresh)
    await apply_migrations(database_url)
    await open_db(database_url)
    try:
        if await Partner.exists():
            raise SystemExit(f"{database_url} already holds data: use --fresh to start again")
        plugins = Plugins.load(["bench.second_program"])
        await sync_programs(plugins)
        rows = {p.code: p for p in await Program.all()}
        smb, pro = plugins.program("SMB_SELECT"), plugins.program("SMB_SELECT_PRO")
        return Programs(
            smb_id=rows["SMB_SELECT"].id, pro_id=rows["SMB_SELECT_PRO"].id,
            smb_terms=(smb.terms.version, smb.terms.sha256), pro_terms=(pro.terms.version, pro.terms.sha256),
            smb_review_days=smb.review_days, pro_review_days=pro.review_days,
        )
    finally:
        await close_db()


async def _ensure_pg_database(database_url: str, fresh: bool) -> None:
    import asyncpg

    from smbselect.testing import _asyncpg_dsn

    name = database_url.rsplit("/", 1)[1].split("?")[0]
    conn = await asyncpg.connect(_asyncpg_dsn(database_url, "postgres"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and fresh:
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def blocks(total: int, size: int) -> Iterator[tuple[int, int]]:
    start = 1
    while start <= total:
        end = min(total, start + size - 1)
        yield start, end
        start = end + 1


async def generate(database_url: str, partners: int, *, fresh: bool = False, seed: int = 42,
                   echo: Any = print) -> Manifest:
    """Write a data set of ``partners`` partners (4 applications each) and its manifest."""
    from smbselect.security import hash_password_now

    started = time.monotonic()
    programs = await _prepare(database_url, fresh)
    password_hash = hash_password_now(PASSWORD)  # the service's own parameters
    gen = Generator(Size(partners), programs, password_hash, seed)
    if database_url.startswith("sqlite"):
        writer: Any = SqliteWriter(database_url.split("://", 1)[1])
    else:
        import asyncpg

        from smbselect.testing import _asyncpg_dsn

        name = database_url.rsplit("/", 1)[1].split("?")[0]
        writer = PostgresWriter(await asyncpg.connect(_asyncpg_dsn(database_url, name)))
    written = 0
    block = max(100, min(5000, partners // 10 or 1))
    for first, last in blocks(partners, block):
        rows = gen.block(first, last)
        written += rows.count()
        await writer.write(rows)
        echo(f"  partners {last:>9,}/{partners:,}  rows {written:>12,}  {time.monotonic() - started:7.1f}s")
    await writer.finish()
    pools = gen.manifest_pools
    manifest = Manifest(
        database_url=database_url, partners=partners, admin_id=gen.admin_id,
        admin_token=token_for(gen.admin_id), password=PASSWORD, search=SEARCH,
        counts={t: n - 1 for t, n in gen.next_id.items()} | {
            "partner": partners, "location": Size(partners).locations,
            "application": Size(partners).applications,
        },
        members=pools["members"], qualified_staff=pools["qualified_staff"][:POOL_CAP],
        save=pools["save"][:POOL_CAP], submit=pools["submit"][:POOL_CAP], one=pools["one"][:POOL_CAP],
        seconds=round(time.monotonic() - started, 1),
    )
    manifest.write(manifest_path(database_url))
    return manifest


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("--partners", type=int, default=100_000)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--fresh", action="store_true", help="drop what is there first")
    args = parser.parse_args(argv)
    m = asyncio.run(generate(args.database_url, int(args.partners * args.scale), fresh=args.fresh))
    print(f"{m.counts['application']:,} applications in {m.seconds}s; manifest {manifest_path(args.database_url)}")


if __name__ == "__main__":
    main()

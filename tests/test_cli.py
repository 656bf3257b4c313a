"""The real ``smbselect`` console script, run in a subprocess over its own SQLite file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

SMBSELECT = Path(sys.executable).parent / "smbselect"
ADMIN_PASSWORD = "cli-admin-password-1"


@pytest.fixture
def cli_db(tmp_path: Path) -> Path:
    return tmp_path / "cli.sqlite3"


@pytest.fixture
def smbselect(tmp_path: Path, cli_db: Path):  # type: ignore[no-untyped-def]
    """Run ``smbselect ARGS`` in tmp_path over its own SQLite file (never the test database)."""
    assert SMBSELECT.exists(), f"console script not found at {SMBSELECT}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMBSELECT_")}
    env["SMBSELECT_DATABASE_URL"] = f"sqlite://{cli_db}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SMBSELECT), *args], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=120, stdin=subprocess.DEVNULL,
        )

    return run


def rows(db: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def create_admin(smbselect, username: str = "Root.Admin", email: str = "root@example.com",  # type: ignore[no-untyped-def]
                 name: str = "Root Admin", password: str = ADMIN_PASSWORD):
    return smbselect("create-admin", "--username", username, "--email", email, "--name", name,
                     "--password", password)


def test_migrate_is_idempotent(smbselect, cli_db):
    # when
    first = smbselect("migrate")
    tables_after_first = rows(cli_db, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
    second = smbselect("migrate")

    # then
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "up to date" in first.stdout and "up to date" in second.stdout
    assert ("user",) in tables_after_first and ("session",) in tables_after_first
    assert rows(cli_db, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name") == (
        tables_after_first
    )


def test_create_admin_creates_an_admin_who_can_log_in(smbselect, cli_db):
    # when
    result = create_admin(smbselect)

    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert "root.admin" in result.stdout
    [(username, email, name, role, active, password_hash)] = rows(
        cli_db, 'SELECT username, email, name, role, active, password_hash FROM "user"'
    )
    assert (username, email, name, role) == ("root.admin", "root@example.com", "Root Admin", "ADMIN")
    assert active
    assert PasswordHasher().verify(password_hash, ADMIN_PASSWORD)
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(password_hash, "not-the-password")


def test_create_admin_twice_with_the_same_username_fails(smbselect, cli_db):
    # given
    assert create_admin(smbselect).returncode == 0

    # when: the same username, differently cased, with another email
    again = create_admin(smbselect, username="root.admin", email="other@example.com")

    # then
    assert again.returncode != 0
    assert "username" in (again.stdout + again.stderr).lower()
    assert "Traceback" not in again.stderr
    assert rows(cli_db, 'SELECT count(*) FROM "user"') == [(1,)]


def test_create_admin_with_a_bad_email_fails_clearly(smbselect, cli_db):
    # when
    result = create_admin(smbselect, email="not-an-email")

    # then
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "email" in output.lower()
    assert "not-an-email" in output
    assert "Traceback" not in output
    assert rows(cli_db, 'SELECT count(*) FROM "user"') == [(0,)]


def test_create_admin_with_a_short_password_fails(smbselect, cli_db):
    # when
    result = create_admin(smbselect, password="short")

    # then
    assert result.returncode != 0
    assert "password" in (result.stdout + result.stderr).lower()
    assert "Traceback" not in result.stderr
    assert rows(cli_db, 'SELECT count(*) FROM "user"') == [(0,)]


def test_demo_prints_the_logins_and_can_run_twice(smbselect, cli_db):
    # when
    first = smbselect("demo")
    users_after_first = rows(cli_db, 'SELECT username, role FROM "user" ORDER BY username')
    second = smbselect("demo")

    # then
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    for result in (first, second):
        logins = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")]
        assert "admin" in logins and "li.wei" in logins, result.stdout
    assert ("admin", "ADMIN") in users_after_first
    assert ("li.wei", "PARTNER") in users_after_first
    assert rows(cli_db, 'SELECT username, role FROM "user" ORDER BY username') == users_after_first
    # the printed password is the admin's real one
    admin_line = next(line for line in first.stdout.splitlines() if line.split()[:1] == ["admin"])
    admin_password = admin_line.split()[1]
    [(admin_hash,)] = rows(cli_db, "SELECT password_hash FROM \"user\" WHERE username='admin'")
    assert PasswordHasher().verify(admin_hash, admin_password)


def test_schema_prints_sdl(smbselect):
    # when
    result = smbselect("schema")

    # then
    assert result.returncode == 0, result.stderr
    assert "type Query" in result.stdout
    assert "partners(" in result.stdout
    assert "type Mutation" in result.stdout
    assert "login(input: LoginInput!): LoginPayload!" in result.stdout


def test_plugins_lists_the_builtin_program(smbselect):
    # when
    result = smbselect("plugins")

    # then
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "smbselect.plugins.smb_select: SMB_SELECT" in lines, result.stdout


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_bad_settings_are_named_without_a_traceback(tmp_path: Path, command: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMBSELECT_")}
    env |= {"SMBSELECT_DATABASE_URL": "mysql://app@db/smbselect", "SMBSELECT_ENV": "staging"}
    done = subprocess.run([str(SMBSELECT), command], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "SMBSELECT_DATABASE_URL: smbselect runs on SQLite (sqlite://FILE) or on PostgreSQL" in done.stderr
    assert "this URL asks for mysql" in done.stderr
    assert "SMBSELECT_ENV: Input should be 'development' or 'production'" in done.stderr
    assert not list(tmp_path.iterdir())  # nothing was created

"""An invalid program definition stops `smbselect serve` at start, naming the plugin and the problem."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SMBSELECT = str(Path(sys.executable).with_name("smbselect"))

PLUGIN = """
from smbselect.plugins.definitions import JobRoleDef, ProgramDef, TermsDef
from smbselect.plugins.hookspecs import hookimpl

@hookimpl
def smbselect_programs():
    return [ProgramDef(code={code!r}, name="Broken", description="d",
        job_roles=(JobRoleDef("R", "Role", {certs!r}, headcount={headcount}),),
        max_roles_per_person={max_roles}, terms=TermsDef(version="1", text="t"))]
"""

CASES = {
    "duplicate program code": dict(code="SMB_SELECT", certs=("CSE",), headcount=1, max_roles=1),
    "role with no accepted certification": dict(code="BROKEN", certs=(), headcount=1, max_roles=1),
    "headcount below 1": dict(code="BROKEN", certs=("CSE",), headcount=0, max_roles=1),
    "max roles below 1": dict(code="BROKEN", certs=("CSE",), headcount=1, max_roles=0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_serve_refuses_to_start(case: str, tmp_path: Path) -> None:
    (tmp_path / "broken_program.py").write_text(textwrap.dedent(PLUGIN.format(**CASES[case])))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMBSELECT_")}
    env.update(
        PYTHONPATH=str(tmp_path),
        SMBSELECT_PLUGINS="broken_program",
        SMBSELECT_DATABASE_URL=f"sqlite://{tmp_path / 'serve.sqlite3'}",
    )
    result = subprocess.run(
        [SMBSELECT, "serve", "--port", "1"], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "broken_program" in result.stderr, result.stderr
    assert "cannot start" in result.stderr
    # it stopped before serving (and before touching the database)
    assert not (tmp_path / "serve.sqlite3").exists()

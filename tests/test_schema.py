"""The schema keeps the public contract (contract/core.graphql) and the committed snapshot."""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema, find_breaking_changes, find_dangerous_changes

from smbselect.schema.root import schema

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "contract" / "core.graphql"
SNAPSHOT = ROOT / "schema.graphql"



def test_no_breaking_change_against_the_contract() -> None:
    contract = build_schema(CONTRACT.read_text())
    ours = build_schema(schema.as_str())
    breaking = [c.description for c in find_breaking_changes(contract, ours)]
    assert breaking == []
    defaults = [
        c.description for c in find_dangerous_changes(contract, ours)
        if c.type.name == "ARG_DEFAULT_VALUE_CHANGE"
    ]
    assert defaults == []


def test_contract_descriptions_are_kept() -> None:
    contract = build_schema(CONTRACT.read_text())
    ours = build_schema(schema.as_str())
    differ = []
    for name, want in contract.type_map.items():
        have = ours.type_map.get(name)
        if name.startswith("__") or have is None:
            continue
        if want.description and (have.description or "").strip() != want.description.strip():
            differ.append(name)
        for kind in ("fields", "values"):
            for member, w in (getattr(want, kind, None) or {}).items():
                h = (getattr(have, kind, None) or {}).get(member)
                if w.description and h is not None and (h.description or "").strip() != w.description.strip():
                    differ.append(f"{name}.{member}")
    assert differ == []


def test_committed_snapshot_matches() -> None:
    # Regenerate with: .venv/bin/smbselect schema > schema.graphql
    assert SNAPSHOT.read_text().strip() == schema.as_str().strip()


def test_contract_copy_is_current() -> None:
    shared = ROOT.parent / "shared" / "contract" / "core.graphql"
    if shared.exists():  # beside a checkout on the team's machines and in CI
        assert shared.read_text() == CONTRACT.read_text()

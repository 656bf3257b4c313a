"""The plugin documentation (docs/plugins.md) keeps up with the code: every hook of
hookspecs.py has a "### smbselect_..." heading and every such heading is a hook that still
exists (datasette's tests/test_docs.py does the same for its plugin hooks). Also every
email event the resolvers send is listed, since plugins switch on those names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smbselect.db.enums import Decision
from smbselect.plugins import hookspecs

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "plugins.md"
RESOLVERS = ROOT / "smbselect" / "resolvers"

HOOK_HEADING = re.compile(r"^###\s+`?(smbselect_\w+)`?\s*$", re.MULTILINE)


def hooks() -> list[str]:
    """Names of the hook specifications (functions marked with @hookspec)."""
    marker = f"{hookspecs.PROJECT_NAME}_spec"
    return sorted(
        name for name, obj in vars(hookspecs).items()
        if callable(obj) and hasattr(obj, marker)
    )


def documented_hooks() -> list[str]:
    return HOOK_HEADING.findall(DOCS.read_text(encoding="utf-8"))


def email_events() -> list[str]:
    """Every event name the resolvers pass to the email hook: the literal ``event="..."``
    and the decision events (``event=f"application_{decision.value.lower()}"``)."""
    found: set[str] = set()
    for path in RESOLVERS.glob("*.py"):
        found.update(re.findall(r'\bevent="([a-z0-9_]+)"', path.read_text(encoding="utf-8")))
    found.update(f"application_{d.value.lower()}" for d in Decision)
    return sorted(found)


def test_there_are_hooks_to_document() -> None:
    # guard: a broken way of finding the specs would make the tests below pass vacuously
    assert "smbselect_programs" in hooks() and "smbselect_email" in hooks()


@pytest.mark.parametrize("hook", hooks())
def test_every_hook_is_documented(hook: str) -> None:
    assert hook in documented_hooks(), (
        f"{hook} is a hook in smbselect/plugins/hookspecs.py but docs/plugins.md has no "
        f'"### {hook}" heading: document its arguments, call rule and an example'
    )


def test_every_documented_hook_exists() -> None:
    documented = documented_hooks()
    gone = sorted(set(documented) - set(hooks()))
    assert gone == [], f"docs/plugins.md documents hooks that no longer exist: {gone}"
    twice = sorted({h for h in documented if documented.count(h) > 1})
    assert twice == [], f"docs/plugins.md documents these hooks twice: {twice}"


@pytest.mark.parametrize("event", email_events())
def test_every_email_event_is_documented(event: str) -> None:
    assert f"`{event}`" in DOCS.read_text(encoding="utf-8"), (
        f'the resolvers send emails with event="{event}": list it under "Email events" '
        "in docs/plugins.md"
    )

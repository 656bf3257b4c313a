"""Free text people write into the process (review comments, a withdrawal's reason): one
rule for all of it, so every such field is cleaned and bounded alike."""

from __future__ import annotations

from collections.abc import Sequence

from smbselect.errors import DomainError, ErrorCode, Problem

COMMENT_MAX = 5000


def clean_comment(text: str | None) -> str | None:
    """The text without surrounding space; None when nothing is left."""
    return (text or "").strip() or None


def comment_problems(text: str | None, field: Sequence[str], what: str = "comment") -> list[Problem]:
    """What is wrong with a cleaned comment: too long, or a NUL (PostgreSQL cannot store it
    in text). Empty when it may be stored."""
    if text is None:
        return []
    problems = []
    if len(text) > COMMENT_MAX:
        problems.append(Problem(ErrorCode.INVALID, f"The {what} must have at most {COMMENT_MAX} characters.",
                                tuple(field)))
    if "\x00" in text:
        problems.append(Problem(ErrorCode.INVALID, f"The {what} may not contain NUL characters.", tuple(field)))
    return problems


def checked_comment(text: str | None, field: Sequence[str], what: str = "comment") -> str | None:
    """:func:`clean_comment`, refused with every problem of :func:`comment_problems`."""
    cleaned = clean_comment(text)
    if problems := comment_problems(cleaned, field, what):
        raise DomainError(problems)
    return cleaned

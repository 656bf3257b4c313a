"""The application status machine: a small, pure table that resolvers consult.

No I/O here, so tests can check it exhaustively. Each step names the statuses it may start
from and the status it leads to (None: the status does not change).
"""

from __future__ import annotations

from enum import Enum

from smbselect.db.enums import ApplicationStatus as S


class Step(str, Enum):
    INVITE = "INVITE"  # an invitation (re)opens an application
    START = "START"
    SAVE_ALLOCATIONS = "SAVE_ALLOCATIONS"
    ACCEPT_TERMS = "ACCEPT_TERMS"
    DECLINE_TERMS = "DECLINE_TERMS"
    UPLOAD = "UPLOAD"
    SUBMIT = "SUBMIT"
    WITHDRAW = "WITHDRAW"
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    REQUEST_CHANGES = "REQUEST_CHANGES"
    EXPIRE = "EXPIRE"
    REVIEW_DOCUMENT = "REVIEW_DOCUMENT"


CLOSED = frozenset({S.REJECTED, S.WITHDRAWN, S.EXPIRED})
EDITABLE = frozenset({S.NOT_SUBMITTED, S.CHANGES_REQUESTED})
OPEN = frozenset({S.IN_PROGRESS, S.NOT_SUBMITTED, S.SUBMITTED, S.CHANGES_REQUESTED})

# step -> {from status: to status (None: unchanged)}
TRANSITIONS: dict[Step, dict[S, S | None]] = {
    # A closed application is reopened for a new round; an open or approved one keeps its status.
    Step.INVITE: {
        **{s: S.IN_PROGRESS for s in CLOSED},
        **{s: None for s in (*OPEN, S.APPROVED)},
    },
    Step.START: {S.IN_PROGRESS: S.NOT_SUBMITTED, S.NOT_SUBMITTED: None},
    Step.SAVE_ALLOCATIONS: {s: None for s in EDITABLE},
    Step.ACCEPT_TERMS: {s: None for s in EDITABLE},
    Step.DECLINE_TERMS: {s: None for s in EDITABLE},
    Step.UPLOAD: {S.NOT_SUBMITTED: None, S.CHANGES_REQUESTED: None, S.SUBMITTED: None},
    Step.SUBMIT: {s: S.SUBMITTED for s in EDITABLE},
    Step.WITHDRAW: {s: S.WITHDRAWN for s in OPEN},
    Step.APPROVE: {S.SUBMITTED: S.APPROVED},
    Step.REJECT: {S.SUBMITTED: S.REJECTED},
    Step.REQUEST_CHANGES: {S.SUBMITTED: S.CHANGES_REQUESTED},
    Step.EXPIRE: {S.IN_PROGRESS: S.EXPIRED},
    Step.REVIEW_DOCUMENT: {S.SUBMITTED: None, S.NOT_SUBMITTED: None, S.CHANGES_REQUESTED: None},
}


def allowed(step: Step, status: S) -> bool:
    return status in TRANSITIONS[step]


def target(step: Step, status: S) -> S:
    """The status after ``step`` from ``status`` (which must be allowed)."""
    to = TRANSITIONS[step][status]
    return status if to is None else to


def from_statuses(step: Step) -> list[S]:
    return list(TRANSITIONS[step])

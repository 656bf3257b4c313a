"""The hooks a plugin can implement, and the call rule of each.

A plugin is a module (or any object) with functions named like the specs below and marked
with ``@hookimpl`` (``from smbselect.plugins import hookimpl``). A plugin may implement
any subset of the hooks and may leave out arguments it does not need.

Three kinds of hook:

* **Program hook** (:func:`smbselect_programs`): which programs a plugin provides. The
  plugin that returns a program *owns* it.
* **Rule hooks** (:func:`smbselect_job_roles`, :func:`smbselect_qualify`,
  :func:`smbselect_required_documents`, :func:`smbselect_submit_blockers`): asked *only of
  the plugin that owns the program*, then of the built-in defaults
  (``smbselect.plugins.defaults``, registered ``trylast``), so one program's plugin can
  never change another program's rules. They are pure: no I/O, no database, no clock (the
  date is passed in). They are batch-shaped: one call answers for every location,
  candidate or application of a request, so a page of 50 costs what a page of 10 does.
  A firstresult rule hook may answer for only some of the items (return a dict without the
  others, or a list without some candidates): the defaults answer for the rest.
* **Notification and observer hooks** (:func:`smbselect_email`, :func:`smbselect_event`):
  asked of every plugin; they receive the program (or its code) and decide for themselves.
  Only observers may do I/O, and they run after the change is committed.

When an implementation raises, the core logs an error naming the plugin and raises
``smbselect.plugins.manager.PluginError`` from it: the request fails, nothing is written.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date
from typing import Any

import pluggy

from smbselect.plugins.definitions import (
    ApplicationInfo,
    BlockerDef,
    CandidateInfo,
    DocumentRequirementDef,
    JobRoleDef,
    LocationInfo,
    ProgramDef,
    Qualification,
)

PROJECT_NAME = "smbselect"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# ---------------------------------------------------------------------------------------------
# Program hook
# ---------------------------------------------------------------------------------------------


@hookspec
def smbselect_programs() -> list[ProgramDef]:
    """Return the programs this plugin provides (and so owns).

    Results of all plugins are concatenated. A program code may be provided by one plugin
    only; a duplicate, or an invalid definition (a role accepting no certification, a
    headcount below 1, ...), stops the service at start-up with a ``PluginError`` naming
    the plugin.

    Called once per process (the answer is cached), and stored in the ``program`` table at
    start-up: a program no plugin returns any more becomes inactive, its applications stay
    readable from the stored definition.
    """
    raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# Rule hooks: pure, batch-shaped, asked of the owning plugin, then of the defaults
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def smbselect_job_roles(
    program: ProgramDef, locations: list[LocationInfo]
) -> dict[int, list[JobRoleDef]] | None:
    """Return the job roles each location's application must fill, by location id.

    Stops at the first non-None result. Locations missing from the answer get the
    default: the program's ``job_roles``. So a plugin that wants other roles in one
    country answers for that country's locations only.

    The roles returned are checked like the program's own (unique codes, at least one
    accepted certification, headcount >= 1).
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def smbselect_qualify(
    program: ProgramDef, role: JobRoleDef, candidates: list[CandidateInfo], today: date
) -> list[Qualification] | None:
    """Return whether each candidate qualifies for ``role``, with a reason when not.

    Stops at the first non-None result. Candidates missing from the answer get the
    default rule: an active person, staff of the location, holding any of
    ``role.accepted_certifications`` that does not expire before ``today``. A
    ``Qualification`` for a user id that is not among the candidates is an error.

    ``reason`` is shown to the partner as is: one short sentence, e.g. "No CSE or CSA
    certification." or "Certification CSE expired on 2026-01-31.".
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def smbselect_required_documents(
    program: ProgramDef, applications: list[ApplicationInfo]
) -> dict[int, list[DocumentRequirementDef]] | None:
    """Return the documents each application must upload before submitting, by application id.

    Stops at the first non-None result. Applications missing from the answer get the
    default: the program's ``required_documents``.
    """
    raise NotImplementedError


@hookspec
def smbselect_submit_blockers(
    program: ProgramDef, applications: list[ApplicationInfo]
) -> dict[int, list[BlockerDef]] | None:
    """Return extra reasons why applications cannot be submitted, by application id.

    Results are merged: the blockers of every answering plugin are concatenated per
    application. The core's own checks (roles filled by qualified people, terms accepted,
    documents uploaded) are made anyway; this hook can only add blockers, not remove them.
    The default returns ``{}``.
    """
    raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# Notification and observer hooks: asked of every plugin
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def smbselect_email(
    program: ProgramDef | None, event: str, language: str, email: dict[str, Any]
) -> dict[str, Any] | None:
    """Change or suppress an email before it is queued.

    ``email`` has the keys ``to`` and ``cc`` (lists of addresses), ``subject``, ``text``
    and ``html`` (None for text only). ``event`` names the occasion: "invitation",
    "application_submitted", "application_submitted_admin", "application_approved",
    "application_rejected", "application_changes_requested", "application_withdrawn_admin",
    "document_uploaded_admin", "document_rejected" (docs/plugins.md lists them all).
    Every email of an application's process goes through this hook; account emails
    (password reset) do not.

    Stops at the first non-None result. Return a dict with the same keys to send it
    instead (``cc`` and ``html`` may be left out), ``{"suppress": True}`` to send nothing,
    or None to leave the email as it is. Changing ``email`` in place has no effect.

    Asked of every plugin, not only the program's owner (a plugin may restyle all mail);
    a plugin that owns a program checks ``program.code`` itself.
    """
    raise NotImplementedError


@hookspec
def smbselect_event(event: dict[str, Any]) -> None | Awaitable[None]:
    """Observe an event of the audit trail (an application submitted, decided, ...).

    Every plugin is called, in turn, after the change has been committed; one observer
    failing does not keep the others from being called. An implementation may be a
    coroutine function: its coroutine is awaited. This is the only hook that may do I/O
    (call a CRM, post to a chat); it cannot change or undo the change it observes.
    """
    raise NotImplementedError

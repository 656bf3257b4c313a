"""The plugin manager: loads plugins, validates their programs, calls their hooks.

Resolvers never touch pluggy: they call the typed wrappers of :class:`Plugins`, which

* ask a program's rule hooks only of the plugin that owns the program and of the
  defaults (``pm.subset_hook_caller``), so one program's plugin cannot change another's
  rules;
* let a plugin answer for some items of a batch and ask the defaults for the rest;
* check every answer's shape, so a plugin's mistake surfaces as a ``PluginError`` that
  names the plugin, not as an ``AttributeError`` deep in a resolver;
* log and wrap any exception a plugin raises (the log line names the plugin, the
  ``PluginError`` is chained to the original).
"""

from __future__ import annotations

import copy
import importlib
import inspect
import logging
import traceback
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pluggy

from smbselect.plugins import hookspecs
from smbselect.errors import ErrorCode
from smbselect.plugins.definitions import (
    ApplicationInfo,
    BlockerDef,
    CandidateInfo,
    DocumentRequirementDef,
    JobRoleDef,
    LocationInfo,
    ProgramDef,
    Qualification,
    document_problems,
    job_role_problems,
)

logger = logging.getLogger("smbselect.plugins")

DEFAULTS = "smbselect.plugins.defaults"
"""Name of the plugin holding the built-in rules, asked after a program's owner."""

BUILTIN_PLUGINS: tuple[str, ...] = (DEFAULTS, "smbselect.plugins.smb_select")
ENTRYPOINT_GROUP = hookspecs.PROJECT_NAME

EMAIL_KEYS = frozenset({"to", "cc", "subject", "text", "html"})


# Codes a plugin's submit blocker may carry: any of the API's error codes.
BLOCKER_CODES = frozenset(code.value for code in ErrorCode)


class PluginError(Exception):
    """A plugin is broken: it cannot be loaded, defines an invalid program, raised in a hook
    or answered a hook with something of the wrong shape.

    The message reads ``plugin 'NAME': program 'CODE': problem`` so that whoever reads
    the log knows whose code to look at. Always a bug to fix, never the user's fault.
    """

    def __init__(self, plugin: str | None, problem: str, program: str | None = None) -> None:
        self.plugin = plugin
        self.program = program
        self.problem = problem
        parts = []
        if plugin is not None:
            parts.append(f"plugin {plugin!r}")
        if program is not None:
            parts.append(f"program {program!r}")
        parts.append(problem)
        super().__init__(": ".join(parts))


class ProgramUnavailable(LookupError):
    """No plugin provides a program with this code (any more).

    Not a PluginError: the program may have been removed on purpose; callers answer
    PROGRAM_UNAVAILABLE or fall back to the stored definition.
    """

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"no plugin provides program {code!r}")


@dataclass
class _Catalog:
    """The validated answer of ``smbselect_programs``, cached until the plugins change."""

    programs: dict[str, ProgramDef] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    by_plugin: dict[str, list[str]] = field(default_factory=dict)


class Plugins:
    """The plugins of this process, behind typed, validated wrappers of their hooks.

    Build it with :meth:`load`; ``pm`` is the underlying ``pluggy.PluginManager`` for the
    rare caller that needs pluggy itself.
    """

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self._catalog: _Catalog | None = None

    # -----------------------------------------------------------------------------------------
    # Loading and registration
    # -----------------------------------------------------------------------------------------

    @classmethod
    def load(cls, extra: Iterable[str] = (), *, entrypoints: bool = True) -> Plugins:
        """The built-in plugins, then the modules named in ``extra`` (the ``plugins``
        setting), then the distributions' ``smbselect`` entry points.

        Programs are validated here, so a broken plugin stops the service at start-up.
        """
        plugins = cls()
        for path in (*BUILTIN_PLUGINS, *extra):
            if plugins.pm.has_plugin(path):
                continue  # listed in the setting as well as built in: once is enough
            try:
                module = importlib.import_module(path)
            except Exception as exc:
                raise PluginError(path, f"cannot be imported: {exc}") from exc
            plugins.register(module, path)
        if entrypoints:
            try:
                plugins.pm.load_setuptools_entrypoints(ENTRYPOINT_GROUP)
                plugins.pm.check_pending()
            except pluggy.PluginValidationError as exc:
                raise PluginError(_plugin_label(exc.plugin), str(exc)) from exc
            except Exception as exc:
                raise PluginError(
                    None, f"loading the {ENTRYPOINT_GROUP!r} entry points failed: {exc}"
                ) from exc
            plugins._catalog = None
        plugins.programs()
        return plugins

    def register(self, plugin: object, name: str | None = None) -> str:
        """Register a plugin (a module or any object with hook implementations).

        Hook implementations are checked against the specs here: a misspelt hook name or
        an argument no spec has is a PluginError now rather than a hook silently never
        called. Returns the name the plugin is registered under.
        """
        label = name or _plugin_label(plugin)
        try:
            registered = self.pm.register(plugin, name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(label, str(exc)) from exc
        except ValueError as exc:  # name or object already registered
            raise PluginError(label, str(exc)) from exc
        if registered is None:
            raise PluginError(label, "is blocked")
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            self.pm.unregister(plugin)
            raise PluginError(registered, str(exc)) from exc
        self._catalog = None
        return registered

    def unregister(self, name: str) -> None:
        """Remove a plugin by name (tests: every test that registers a plugin removes it)."""
        self.pm.unregister(name=name)
        self._catalog = None

    def plugin_names(self) -> list[str]:
        """Names of the registered plugins, in registration order."""
        return [name for name, plugin in self.pm.list_name_plugin() if plugin is not None]

    # -----------------------------------------------------------------------------------------
    # Programs
    # -----------------------------------------------------------------------------------------

    def programs(self) -> dict[str, ProgramDef]:
        """Every program the plugins provide, by code, validated (see ``PluginError``)."""
        return dict(self._programs().programs)

    def program(self, code: str) -> ProgramDef:
        """The live definition of one program; ProgramUnavailable if no plugin provides it."""
        try:
            return self._programs().programs[code]
        except KeyError:
            raise ProgramUnavailable(code) from None

    def owner(self, code: str) -> str:
        """Name of the plugin that provides the program; ProgramUnavailable if none does."""
        try:
            return self._programs().owners[code]
        except KeyError:
            raise ProgramUnavailable(code) from None

    def programs_by_plugin(self) -> dict[str, list[str]]:
        """Program codes by plugin name, every plugin listed (``smbselect plugins``)."""
        return {name: list(codes) for name, codes in self._programs().by_plugin.items()}

    def _programs(self) -> _Catalog:
        if self._catalog is None:
            self._catalog = self._build_catalog()
        return self._catalog

    def _build_catalog(self) -> _Catalog:
        # Asked plugin by plugin, because the answer also says who owns which program.
        catalog = _Catalog()
        for name in self.plugin_names():
            results = self._call("smbselect_programs", {name}, None, {})
            codes: list[str] = []
            for answer in results:
                if not isinstance(answer, (list, tuple)):
                    raise PluginError(
                        name, f"smbselect_programs returned {type(answer).__name__}, not a list"
                    )
                for program in answer:
                    self._check_program(name, program)
                    if program.code in catalog.owners:
                        raise PluginError(
                            name,
                            f"code already provided by plugin {catalog.owners[program.code]!r}",
                            program.code,
                        )
                    catalog.programs[program.code] = program
                    catalog.owners[program.code] = name
                    codes.append(program.code)
            catalog.by_plugin[name] = codes
        return catalog

    @staticmethod
    def _check_program(plugin: str, program: object) -> None:
        if not isinstance(program, ProgramDef):
            raise PluginError(
                plugin, f"smbselect_programs returned {program!r}, not a ProgramDef"
            )
        try:
            problems = program.problems()
        except Exception as exc:  # e.g. a name that is not a str
            raise PluginError(plugin, f"malformed definition: {exc}", program.code) from exc
        if problems:
            raise PluginError(plugin, "; ".join(problems), program.code)

    # -----------------------------------------------------------------------------------------
    # Rule hooks: the owner, then the defaults
    # -----------------------------------------------------------------------------------------

    def job_roles(
        self, program: str | ProgramDef, locations: Sequence[LocationInfo]
    ) -> dict[int, list[JobRoleDef]]:
        """The job roles of each location's application, for every location given."""
        pdef, owner = self._resolve(program)
        locations = list(locations)
        if not locations:
            return {}
        wanted = {loc.id for loc in locations}
        answer = self._rule("smbselect_job_roles", pdef, owner, locations=locations)
        roles = self._check_by_id(answer, wanted, owner, pdef, "smbselect_job_roles")
        for loc_id, value in roles.items():
            problems = job_role_problems(value)
            if problems:
                raise PluginError(
                    owner or DEFAULTS,
                    f"smbselect_job_roles for location {loc_id}: {'; '.join(problems)}",
                    pdef.code,
                )
        missing = [loc for loc in locations if loc.id not in roles]
        if missing:
            rest = self._call(
                "smbselect_job_roles", {DEFAULTS}, pdef.code,
                {"program": pdef, "locations": missing},
            )
            roles.update(rest)
        return {loc.id: list(roles[loc.id]) for loc in locations}

    def qualify(
        self,
        program: str | ProgramDef,
        role: JobRoleDef,
        candidates: Sequence[CandidateInfo],
        today: date,
    ) -> dict[int, Qualification]:
        """Whether each candidate qualifies for ``role``, by user id, for every candidate."""
        pdef, owner = self._resolve(program)
        candidates = list(candidates)
        if not candidates:
            return {}
        wanted = {c.user_id for c in candidates}
        answer = self._rule(
            "smbselect_qualify", pdef, owner, role=role, candidates=candidates, today=today
        )
        found = self._check_qualifications(answer, wanted, owner or DEFAULTS, pdef.code)
        missing = [c for c in candidates if c.user_id not in found]
        if missing:
            rest = self._call(
                "smbselect_qualify", {DEFAULTS}, pdef.code,
                {"program": pdef, "role": role, "candidates": missing, "today": today},
            )
            found.update({q.user_id: q for q in rest})
        return {c.user_id: found[c.user_id] for c in candidates}

    def required_documents(
        self, program: str | ProgramDef, applications: Sequence[ApplicationInfo]
    ) -> dict[int, list[DocumentRequirementDef]]:
        """The documents each application must upload, for every application given."""
        pdef, owner = self._resolve(program)
        applications = list(applications)
        if not applications:
            return {}
        wanted = {a.id for a in applications}
        answer = self._rule(
            "smbselect_required_documents", pdef, owner, applications=applications
        )
        docs = self._check_by_id(answer, wanted, owner, pdef, "smbselect_required_documents")
        for app_id, value in docs.items():
            problems = document_problems(value)
            if problems:
                raise PluginError(
                    owner or DEFAULTS,
                    f"smbselect_required_documents for application {app_id}: "
                    + "; ".join(problems),
                    pdef.code,
                )
        missing = [a for a in applications if a.id not in docs]
        if missing:
            rest = self._call(
                "smbselect_required_documents", {DEFAULTS}, pdef.code,
                {"program": pdef, "applications": missing},
            )
            docs.update(rest)
        return {a.id: list(docs[a.id]) for a in applications}

    def submit_blockers(
        self, program: str | ProgramDef, applications: Sequence[ApplicationInfo]
    ) -> dict[int, list[BlockerDef]]:
        """Plugin blockers of each application (an empty list: none), for every one given."""
        pdef, owner = self._resolve(program)
        applications = list(applications)
        blockers: dict[int, list[BlockerDef]] = {a.id: [] for a in applications}
        if not applications:
            return blockers
        answers = self._rule("smbselect_submit_blockers", pdef, owner, applications=applications)
        for answer in answers:
            by_id = self._check_by_id(
                answer, set(blockers), owner, pdef, "smbselect_submit_blockers"
            )
            for app_id, items in by_id.items():
                for item in items:
                    if not isinstance(item, BlockerDef):
                        raise PluginError(
                            owner or DEFAULTS,
                            f"smbselect_submit_blockers returned {item!r}, not a BlockerDef",
                            pdef.code,
                        )
                    if item.code not in BLOCKER_CODES:
                        # The API's SubmitBlocker.code is an ErrorCode: an unknown code could
                        # not be shown, so it is the plugin's error, named as such.
                        raise PluginError(
                            owner or DEFAULTS,
                            f"smbselect_submit_blockers returned code {item.code!r}, which is not "
                            f"an ErrorCode (use one of {', '.join(sorted(BLOCKER_CODES))})",
                            pdef.code,
                        )
                blockers[app_id].extend(items)
        return blockers

    # -----------------------------------------------------------------------------------------
    # Notification and observer hooks: every plugin
    # -----------------------------------------------------------------------------------------

    def email(
        self, program: ProgramDef | None, event: str, language: str, email: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The email to queue: ``email`` itself, a plugin's replacement, or None (suppressed).

        Plugins are asked one by one in hook order, so the answer can be traced to the
        plugin that gave it when it is malformed.
        """
        code = program.code if program is not None else None
        original = _email_copy(email)
        for name in self._implementers("smbselect_email"):
            answer = self._call(  # firstresult: the value itself, not a list
                "smbselect_email", {name}, code,
                {"program": program, "event": event, "language": language,
                 "email": _email_copy(email)},
            )
            if answer is None:
                continue
            return _checked_email(answer, name, code)
        return original

    async def notify_event(self, event: Mapping[str, Any]) -> None:
        """Call every observer with its own copy of ``event``, awaiting coroutines.

        One failing observer does not stop the others; afterwards a PluginError names the
        first that failed (each failure is logged).
        """
        failures: list[PluginError] = []
        for name in self._implementers("smbselect_event"):
            try:
                results = self._call(
                    "smbselect_event", {name}, None, {"event": copy.deepcopy(dict(event))}
                )
                for result in results:
                    if inspect.isawaitable(result):
                        try:
                            await result
                        except Exception as exc:
                            raise self._failed(name, "smbselect_event", None, exc) from exc
            except PluginError as exc:
                failures.append(exc)
        if failures:
            first = failures[0]
            if len(failures) > 1:
                others = ", ".join(repr(f.plugin) for f in failures[1:])
                raise PluginError(
                    first.plugin, f"{first.problem} (also failed: {others})"
                ) from first.__cause__
            raise first

    # -----------------------------------------------------------------------------------------
    # Calling hooks
    # -----------------------------------------------------------------------------------------

    def _resolve(self, program: str | ProgramDef) -> tuple[ProgramDef, str | None]:
        """The definition and owner: a code must be live; a stored ProgramDef of a program no
        plugin provides any more gets the defaults only (owner None)."""
        if isinstance(program, ProgramDef):
            return program, self._programs().owners.get(program.code)
        return self.program(program), self.owner(program)

    def _rule(self, hook_name: str, program: ProgramDef, owner: str | None, **kwargs: Any) -> Any:
        keep = {DEFAULTS} if owner is None else {owner, DEFAULTS}
        return self._call(hook_name, keep, program.code, {"program": program, **kwargs})

    def _call(
        self,
        hook_name: str,
        keep: Collection[str],
        program_code: str | None,
        kwargs: dict[str, Any],
    ) -> Any:
        """Call a hook on the plugins named in ``keep`` only; wrap what they raise."""
        keep_set = set(keep)
        others = [p for n, p in self.pm.list_name_plugin() if p is not None and n not in keep_set]
        caller = self.pm.subset_hook_caller(hook_name, remove_plugins=others)
        try:
            return caller(**kwargs)
        except Exception as exc:
            culprit = self._culprit(exc, hook_name, keep_set)
            raise self._failed(culprit, hook_name, program_code, exc) from exc

    @staticmethod
    def _failed(
        plugin: str, hook_name: str, program_code: str | None, exc: BaseException
    ) -> PluginError:
        where = f" for program {program_code!r}" if program_code else ""
        logger.error(
            "plugin %r raised %s in %s%s: %s",
            plugin, type(exc).__name__, hook_name, where, exc, exc_info=exc,
        )
        return PluginError(plugin, f"{hook_name} raised {type(exc).__name__}: {exc}", program_code)

    def _culprit(self, exc: BaseException, hook_name: str, keep: set[str]) -> str:
        """The plugin whose implementation the exception came out of.

        pluggy does not say, so the traceback is matched against the implementations'
        code objects (outermost first: that is the one pluggy called); a method shared by
        several plugin instances is told apart by its ``self``.
        """
        impls = [
            impl for impl in getattr(self.pm.hook, hook_name).get_hookimpls()
            if impl.plugin_name in keep
        ]
        by_code: dict[Any, list[Any]] = {}
        for impl in impls:
            code = getattr(impl.function, "__code__", None)
            if code is None:
                code = getattr(getattr(impl.function, "__call__", None), "__code__", None)
            if code is not None:
                by_code.setdefault(code, []).append(impl)
        for frame, _lineno in traceback.walk_tb(exc.__traceback__):
            candidates = by_code.get(frame.f_code)
            if not candidates:
                continue
            me = frame.f_locals.get("self")
            for impl in candidates:
                if impl.plugin is me:
                    return str(impl.plugin_name)
            return str(candidates[0].plugin_name)
        names = sorted({str(impl.plugin_name) for impl in impls}) or sorted(keep)
        return " or ".join(names)

    def _implementers(self, hook_name: str) -> list[str]:
        """Plugins implementing a hook, in the order pluggy calls them (tryfirst first)."""
        names: list[str] = []
        for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):
            if impl.plugin_name not in names:
                names.append(impl.plugin_name)
        return names

    # -----------------------------------------------------------------------------------------
    # Checking answers
    # -----------------------------------------------------------------------------------------

    @staticmethod
    def _check_by_id(
        answer: Any, wanted: set[int], owner: str | None, program: ProgramDef, hook_name: str
    ) -> dict[int, list[Any]]:
        """A dict answer keyed by ids we asked about, with list values; {} for None."""
        blame = owner or DEFAULTS
        if answer is None:
            return {}
        if not isinstance(answer, Mapping):
            raise PluginError(
                blame, f"{hook_name} returned {type(answer).__name__}, not a dict", program.code
            )
        result: dict[int, list[Any]] = {}
        for key, value in answer.items():
            if key not in wanted:
                raise PluginError(
                    blame, f"{hook_name} answered for id {key!r}, which was not asked",
                    program.code,
                )
            if not isinstance(value, (list, tuple)):
                raise PluginError(
                    blame, f"{hook_name} returned {type(value).__name__} for id {key}, not a list",
                    program.code,
                )
            result[key] = list(value)
        return result

    @staticmethod
    def _check_qualifications(
        answer: Any, wanted: set[int], blame: str, program_code: str
    ) -> dict[int, Qualification]:
        if answer is None:
            return {}
        if not isinstance(answer, (list, tuple)):
            raise PluginError(
                blame, f"smbselect_qualify returned {type(answer).__name__}, not a list",
                program_code,
            )
        found: dict[int, Qualification] = {}
        for item in answer:
            if not isinstance(item, Qualification):
                raise PluginError(
                    blame, f"smbselect_qualify returned {item!r}, not a Qualification",
                    program_code,
                )
            if item.user_id not in wanted:
                raise PluginError(
                    blame, f"smbselect_qualify answered for user {item.user_id}, not a candidate",
                    program_code,
                )
            if item.user_id in found:
                raise PluginError(
                    blame, f"smbselect_qualify answered twice for user {item.user_id}",
                    program_code,
                )
            found[item.user_id] = item
        return found


def _plugin_label(plugin: object) -> str:
    """A readable name for a plugin object not (yet) registered."""
    return str(getattr(plugin, "__name__", None) or type(plugin).__name__)


def _email_copy(email: Mapping[str, Any]) -> dict[str, Any]:
    """A fresh copy, so a plugin changing the dict in place changes nothing (see the spec)."""
    return {
        "to": list(email.get("to") or []),
        "cc": list(email.get("cc") or []),
        "subject": email.get("subject", ""),
        "text": email.get("text", ""),
        "html": email.get("html"),
    }


def _checked_email(answer: Any, plugin: str, program_code: str | None) -> dict[str, Any] | None:
    """A plugin's replacement email, checked; None when it asks for no email at all."""
    if not isinstance(answer, Mapping):
        raise PluginError(
            plugin, f"smbselect_email returned {type(answer).__name__}, not a dict", program_code
        )
    if answer.get("suppress") is True:
        return None
    unknown = set(answer) - EMAIL_KEYS
    if unknown:
        raise PluginError(
            plugin, f"smbselect_email returned unknown keys {sorted(unknown)}", program_code
        )
    problems: list[str] = []
    to = answer.get("to")
    cc = answer.get("cc") or []
    if not isinstance(to, (list, tuple)) or not to or not all(isinstance(a, str) for a in to):
        problems.append("'to' must be a non-empty list of addresses")
    if not isinstance(cc, (list, tuple)) or not all(isinstance(a, str) for a in cc):
        problems.append("'cc' must be a list of addresses")
    for key in ("subject", "text"):
        if not isinstance(answer.get(key), str):
            problems.append(f"{key!r} must be a string")
    html = answer.get("html")
    if html is not None and not isinstance(html, str):
        problems.append("'html' must be a string or None")
    if problems:
        raise PluginError(plugin, "smbselect_email returned " + "; ".join(problems), program_code)
    return {
        "to": list(to),  # type: ignore[arg-type]
        "cc": list(cc),
        "subject": answer["subject"],
        "text": answer["text"],
        "html": html,
    }

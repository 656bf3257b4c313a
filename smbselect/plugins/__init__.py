"""Plugins: the hook specifications, the plugin manager and the built-in programs.

A program's owner writes a plugin against this package only::

    from smbselect.plugins import JobRoleDef, ProgramDef, TermsDef, hookimpl

    @hookimpl
    def smbselect_programs() -> list[ProgramDef]:
        return [ProgramDef(...)]

and makes it known through the ``SMBSELECT_PLUGINS`` setting (a module path) or the
``smbselect`` entry-point group of its distribution. The manager lives in
``smbselect.plugins.manager`` and is not imported here, so that importing a plugin never
drags in the built-in plugins.
"""

from smbselect.plugins.definitions import (
    ApplicationInfo,
    BlockerDef,
    CandidateInfo,
    CertificationInfo,
    DocumentRequirementDef,
    Email,
    JobRoleDef,
    LocationInfo,
    ProgramDef,
    Qualification,
    TermsDef,
)
from smbselect.plugins.hookspecs import hookimpl, hookspec

__all__ = [
    "ApplicationInfo",
    "BlockerDef",
    "CandidateInfo",
    "CertificationInfo",
    "DocumentRequirementDef",
    "Email",
    "JobRoleDef",
    "LocationInfo",
    "ProgramDef",
    "Qualification",
    "TermsDef",
    "hookimpl",
    "hookspec",
]

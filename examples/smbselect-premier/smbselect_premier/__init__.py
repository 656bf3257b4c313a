"""SMB Select Premier: an smbselect program plugin.

The hooks live in :mod:`smbselect_premier.plugin` (the module the ``smbselect`` entry point
names); the Turkish texts in :mod:`smbselect_premier.terms` and :mod:`smbselect_premier.emails`.
"""

__version__ = "0.1.0"

"""The database layer: tortoise models, enums, migrations and connection config.

Imports nothing else of smbselect, so every other layer may depend on it.
"""

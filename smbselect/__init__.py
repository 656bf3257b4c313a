"""smbselect: invitation-based partner programs (modelled on Cisco's SMB Select) over GraphQL."""

__version__ = "0.1.0"

"""Global ids: opaque strings that name a type and a row ("User:12", base64url-encoded).

Clients treat them as opaque. A malformed id, or one of another type than expected, decodes
to None, and callers answer it exactly as an id that does not exist.
"""

from __future__ import annotations

import base64
import binascii

MAX_PK = 2**31 - 1


def encode(type_name: str, pk: int) -> str:
    raw = f"{type_name}:{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_any(global_id: str) -> tuple[str, int] | None:
    """(type name, primary key), or None when the id is not one of ours."""
    if not isinstance(global_id, str) or not 0 < len(global_id) <= 80:
        return None
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, sep, pk_text = text.partition(":")
    if not sep or not pk_text.isascii() or not pk_text.isdigit() or len(pk_text) > 10:
        return None
    pk = int(pk_text)
    if pk <= 0 or pk > MAX_PK:  # primary keys are 32-bit integers in the database
        return None
    return type_name, pk


def decode(global_id: str, type_name: str) -> int | None:
    """The primary key when ``global_id`` names a ``type_name``, else None."""
    decoded = decode_any(global_id)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]

"""Documents: uploads for an application's requirements, their review, and download links.

A download link is short-lived and signed (HMAC with SECRET_KEY over the document id and
the expiry), so it needs no Authorization header; it is only ever handed to the admins and
to the users of the document's location (through ``Document.downloadUrl``).
"""

from __future__ import annotations

import time

from smbselect.context import Context
from smbselect.db.models import Document
from smbselect.security import sign, signature_ok

DOWNLOAD_TTL_SECONDS = 300


def _message(document_id: int, expires: int) -> str:
    return f"document:{document_id}:{expires}"


def download_url(ctx: Context, document: Document, now: float | None = None) -> str:
    expires = int((now or time.time()) + DOWNLOAD_TTL_SECONDS)
    signature = sign(ctx.settings.secret_key, _message(document.id, expires))
    return f"{ctx.settings.public_url}/documents/{document.id}?expires={expires}&signature={signature}"


def link_valid(secret_key: str, document_id: int, expires: str, signature: str, now: float | None = None) -> bool:
    """True for an untampered link that has not expired."""
    if not expires.isdigit() or int(expires) < (now or time.time()):
        return False
    return signature_ok(secret_key, _message(document_id, int(expires)), signature)

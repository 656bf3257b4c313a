"""Uploaded files at the HTTP edge and on disk: the request-size guard in front of
``/graphql``, content sniffing, the document store under ``DATA_DIR/documents`` and the
signed download endpoint.

strawberry parses a whole multipart body (spooling files to temporary files) before any
resolver runs, so a limit checked only in the resolver would come after the disk and the
time were spent: ``RequestSizeLimit`` refuses a too-large body while it arrives.

Files are stored under a random name, never the client's: the client's name is kept (made
harmless) in the database only. A file is written to a temporary file in the same directory
and renamed into place once it is complete and accepted, so a failure leaves nothing under a
real name.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import secrets
import tempfile
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The largest /graphql request body accepted (an upload and its multipart envelope). A
# module constant rather than a setting for now; RequestSizeLimit reads it per request, so a
# test may lower it.
MAX_REQUEST_BYTES = 25 * 1024 * 1024

MAX_FILENAME_LENGTH = 255
CHUNK_BYTES = 64 * 1024
_STORAGE_NAME = re.compile(r"[0-9a-f]{32}")

# --- content sniffing ---------------------------------------------------------------------

LABELS = {
    "application/pdf": "PDF",
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "image/gif": "GIF image",
    "image/webp": "WebP image",
}
SNIFF_BYTES = 16


def sniff(head: bytes) -> str | None:
    """The content type the first bytes of a file show (magic numbers), or None if unknown.

    The client's file name and Content-Type are never consulted: they are whatever the
    client says.
    """
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def label(content_type: str) -> str:
    return LABELS.get(content_type, content_type)


def human_size(size: int) -> str:
    """1 MB, 2.5 MB, 300 KB, 12 bytes (decimal units, as people read them)."""
    for unit, factor in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


# --- file names ---------------------------------------------------------------------------

_DROP_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def clean_filename(name: str | None, fallback: str = "document") -> str:
    """The client's file name made safe to store and show: its last path component only,
    without control or formatting characters (bidi overrides included), at most 255 long,
    keeping the extension when it has to be shortened."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _DROP_CATEGORIES)
    text = text.strip()
    if text in ("", ".", ".."):
        return fallback
    if len(text) > MAX_FILENAME_LENGTH:
        stem, dot, ext = text.rpartition(".")
        if dot and stem and 0 < len(ext) <= 16:
            text = stem[: MAX_FILENAME_LENGTH - len(ext) - 1].rstrip() + "." + ext
        else:
            text = text[:MAX_FILENAME_LENGTH].rstrip()
    return text


# --- the store ----------------------------------------------------------------------------


class Rejected(ValueError):
    """The file is not acceptable (empty, too large, of a type not accepted); the message
    says why, for the person who uploaded it."""


@dataclass(frozen=True)
class StoredFile:
    storage_name: str
    size: int
    sha256: str
    content_type: str


def documents_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "documents"


def path_of(data_dir: Path, storage_name: str) -> Path | None:
    """Where a stored file lives; None for a name this module cannot have made."""
    if not _STORAGE_NAME.fullmatch(storage_name or ""):
        return None
    return documents_dir(data_dir) / storage_name


async def store(
    data_dir: Path, stream: IO[bytes], *, max_bytes: int, accepted: Collection[str]
) -> StoredFile:
    """Copy an upload into the store, checking it on the way; raises ``Rejected``.

    Runs in a thread: the upload is a (possibly on-disk) temporary file and blocking reads
    must not stall the event loop.
    """
    return await asyncio.to_thread(_store, Path(data_dir), stream, max_bytes, frozenset(accepted))


def _store(data_dir: Path, stream: IO[bytes], max_bytes: int, accepted: frozenset[str]) -> StoredFile:
    directory = documents_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if hasattr(stream, "seek"):
        try:
            stream.seek(0)
        except (OSError, ValueError):
            pass  # not seekable: read from where it is
    fd, temp_name = tempfile.mkstemp(dir=directory, prefix=".upload-", suffix=".part")
    temp = Path(temp_name)
    try:
        digest = hashlib.sha256()
        size = 0
        content_type: str | None = None
        with os.fdopen(fd, "wb") as out:
            head = b""
            while True:
                chunk = stream.read(CHUNK_BYTES)
                if not chunk:
                    break
                if content_type is None:
                    head += chunk
                    if len(head) < SNIFF_BYTES:
                        continue  # a stream may hand out tiny chunks: sniff on enough bytes
                    content_type = _check_type(head, accepted)
                    chunk, head = head, b""
                size += len(chunk)
                if size > max_bytes:
                    raise Rejected(f"The file is larger than the {human_size(max_bytes)} allowed.")
                digest.update(chunk)
                out.write(chunk)
            if content_type is None:  # the whole file was shorter than SNIFF_BYTES
                if not head:
                    raise Rejected("The file is empty.")
                content_type = _check_type(head, accepted)
                size = len(head)
                if size > max_bytes:
                    raise Rejected(f"The file is larger than the {human_size(max_bytes)} allowed.")
                digest.update(head)
                out.write(head)
            out.flush()
            os.fsync(out.fileno())
        storage_name = secrets.token_hex(16)
        os.replace(temp, directory / storage_name)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return StoredFile(storage_name, size, digest.hexdigest(), content_type)


def _check_type(head: bytes, accepted: frozenset[str]) -> str:
    found = sniff(head)
    wanted = " or ".join(label(t) for t in sorted(accepted))
    if found is None:
        raise Rejected(f"This file's content is not of an accepted type: upload a {wanted}.")
    if found not in accepted:
        raise Rejected(f"This file is a {label(found)}, whatever its name says: upload a {wanted}.")
    return found


def remove(data_dir: Path, storage_name: str) -> None:
    """Delete a stored file (after the database refused the row that pointed at it)."""
    path = path_of(data_dir, storage_name)
    if path is not None:
        path.unlink(missing_ok=True)


# --- download -----------------------------------------------------------------------------

NOT_FOUND_BODY = "Not found."


def _not_found() -> Response:
    # One answer for an expired, tampered or unknown link and for a missing file, so a link
    # cannot be used to learn which documents exist.
    return Response(NOT_FOUND_BODY, status_code=404, media_type="text/plain",
                    headers={"Cache-Control": "no-store"})


async def download_document(request: Request) -> Response:
    """GET /documents/{id}?expires=..&signature=..: the file of a signed, unexpired link."""
    # Imported here: the resolvers use this module's store, so a top-level import would be
    # circular.
    from smbselect.resolvers import documents

    settings = request.app.state.settings
    found = await documents.for_download(
        settings,
        request.path_params["document_id"],
        request.query_params.get("expires", ""),
        request.query_params.get("signature", ""),
    )
    if found is None:
        return _not_found()
    path = path_of(settings.data_dir, found.storage_name)
    if path is None or not path.is_file():
        return _not_found()
    return FileResponse(
        path,
        media_type=found.content_type,
        filename=found.filename,
        content_disposition_type="attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


# --- the request-size guard ---------------------------------------------------------------


class RequestTooLarge(Exception):
    """Raised into the app from ``receive`` when a streamed body passes the limit."""


class RequestSizeLimit:
    """ASGI middleware: a request to one of ``paths`` whose body is over the limit gets 413.

    A declared Content-Length over the limit is refused before a byte of the body is read;
    a body without one (chunked) is counted as it streams and cut off once it passes the
    limit: the app's ``receive`` raises ``RequestTooLarge``, whatever the app tries to
    answer is dropped, and 413 goes out instead.
    """

    def __init__(self, app: ASGIApp, max_bytes: int | None = None, paths: Collection[str] = ("/graphql",)) -> None:
        self.app = app
        self._max_bytes = max_bytes
        self.paths = {p.rstrip("/") for p in paths}

    @property
    def max_bytes(self) -> int:
        return self._max_bytes if self._max_bytes is not None else MAX_REQUEST_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") not in self.paths:
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        declared = _content_length(scope)
        if declared == -1:
            await _answer(send, 400, "Bad Content-Length header.", "BAD_REQUEST")
            return
        if declared is not None and declared > limit:
            await _answer(send, 413, _too_large_message(limit), "PAYLOAD_TOO_LARGE")
            return

        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise RequestTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the app's answer to RequestTooLarge (a 500, say) is replaced by 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except RequestTooLarge:
            pass
        if exceeded and not started:
            await _answer(send, 413, _too_large_message(limit), "PAYLOAD_TOO_LARGE")


def _content_length(scope: Scope) -> int | None:
    """The declared body length, None when not declared, -1 when unreadable."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if re.fullmatch(r"[0-9]{1,19}", text) else -1
    return None


def _too_large_message(limit: int) -> str:
    mib = 1024 * 1024
    allowed = f"{limit // mib} MiB" if limit % mib == 0 else f"{limit} bytes"
    return f"The request is larger than the {allowed} allowed."


async def _answer(send: Send, status: int, message: str, code: str) -> None:
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            # The rest of the body was not read: this connection cannot carry another request.
            (b"connection", b"close"),
        ],
    })
    await send({"type": "http.response.body", "body": body})


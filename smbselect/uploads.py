"""Uploaded files at the HTTP edge: the request-size guard in front of ``/graphql`` and the
signed download endpoint (the store itself is ``smbselect.storage``).

strawberry parses a whole multipart body (spooling files to temporary files) before any
resolver runs, so a limit checked only in the resolver would come after the disk and the
time were spent: ``RequestSizeLimit`` refuses a too-large body while it arrives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smbselect.resolvers import documents
from smbselect.storage import path_of

# The largest /graphql request body accepted (an upload and its multipart envelope). A
# module constant rather than a setting for now; RequestSizeLimit reads it per request, so a
# test may lower it.
MAX_REQUEST_BYTES = 25 * 1024 * 1024


# --- download -----------------------------------------------------------------------------

NOT_FOUND_BODY = "Not found."


def _not_found() -> Response:
    # One answer for an expired, tampered or unknown link and for a missing file, so a link
    # cannot be used to learn which documents exist.
    return Response(NOT_FOUND_BODY, status_code=404, media_type="text/plain",
                    headers={"Cache-Control": "no-store"})


async def download_document(request: Request) -> Response:
    """GET /documents/{id}?expires=..&signature=..: the file of a signed, unexpired link."""
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
        if declared is not None and not _has_header(scope, b"transfer-encoding"):
            # The server hands over exactly the declared bytes (more would be the next
            # request), so nothing is left to count: the common request skips the wrappers.
            await self.app(scope, receive, send)
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


def _has_header(scope: Scope, name: bytes) -> bool:
    return any(key == name for key, _ in scope.get("headers", []))


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


"""Uploaded files on disk: content sniffing and the document store under
``DATA_DIR/documents``. No HTTP here: the resolvers use it (``smbselect.uploads`` holds the
HTTP edge: the request-size guard and the download endpoint).

Files are stored under a random name, never the client's: the client's name is kept (made
harmless) in the database only. A file is written to a temporary file in the same directory
and renamed into place once it is complete and accepted, so a failure leaves nothing under a
real name.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import tempfile
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import IO

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



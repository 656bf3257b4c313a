"""Documents: upload (GraphQL multipart request), storage, signed download links, review,
and the request-size limit in front of /graphql.

A test program (registered for these tests only) requires one signed NDA as a PDF of at most
1 MB. Uploads go over the in-process ASGI client as real multipart bodies, built here by
hand after the GraphQL multipart request spec: an ``operations`` part, a ``map`` part, then
the file parts.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest_asyncio

from smbselect import ids, storage, testing, uploads
from smbselect.db.models import Document
from smbselect.plugins import DocumentRequirementDef, JobRoleDef, ProgramDef, TermsDef, hookimpl
from smbselect.resolvers import documents
from smbselect.resolvers.programs import sync_programs
from smbselect.security import sign
from smbselect.testing import ADMIN_PASSWORD, PARTNER_PASSWORD, GraphQLClient

# --- the test program -------------------------------------------------------------------

MAX_SIZE = 1_000_000
DOCS_PROGRAM = ProgramDef(
    code="DOCS_PROGRAM",
    name="Docs Program",
    description="A program that requires a signed NDA.",
    job_roles=(JobRoleDef("ENGINEER", "Engineer", ("CSE",)),),
    max_roles_per_person=1,
    terms=TermsDef(version="1", text="Be nice."),
    required_documents=(
        DocumentRequirementDef("NDA", "Signed NDA", "The NDA, signed, as a PDF.",
                               ("application/pdf",), MAX_SIZE),
    ),
)


class DocsProgramPlugin:
    """Provides DOCS_PROGRAM; every other rule is the defaults'."""

    @hookimpl
    def smbselect_programs(self) -> list[ProgramDef]:
        return [DOCS_PROGRAM]


@pytest_asyncio.fixture
async def docs_program(app) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    name = app.state.plugins.register(DocsProgramPlugin(), "test-documents-program")
    await sync_programs(app.state.plugins)
    try:
        yield DOCS_PROGRAM.code
    finally:
        app.state.plugins.unregister(name)


# --- files ------------------------------------------------------------------------------

PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40

# --- GraphQL documents ------------------------------------------------------------------

ERRORS = "userErrors { code field message }"
DOCUMENT_FIELDS = """id requirementCode filename contentType size status reviewComment superseded
  downloadUrl uploadedBy { username }"""
UPLOAD = f"""mutation($id: ID!, $code: String!, $file: Upload!) {{
  documentUpload(input: {{applicationId: $id, requirementCode: $code, file: $file}}) {{
    document {{ {DOCUMENT_FIELDS} }} {ERRORS} }} }}"""
REVIEW = f"""mutation($id: ID!, $decision: DocumentReviewDecision!, $comment: String) {{
  documentReview(input: {{documentId: $id, decision: $decision, comment: $comment}}) {{
    document {{ status reviewComment }} {ERRORS} }} }}"""
APPLICATION = f"""query($id: ID!) {{ application(id: $id) {{
  documents {{ {DOCUMENT_FIELDS} }}
  missingDocuments {{ code }}
  events {{ kind comment }}
}} }}"""
NODE = "query($id: ID!) { node(id: $id) { id } }"


def multipart(operations: dict[str, Any], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A GraphQL multipart request body: operations, map, then one part per file.

    ``files`` maps a variable path ("variables.file") to (file name, bytes, content type).
    """
    boundary = uuid.uuid4().hex
    mapping = {str(i): [path] for i, path in enumerate(files)}
    parts = []
    for name, value in (("operations", json.dumps(operations)), ("map", json.dumps(mapping))):
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode() + b"\r\n"
        )
    for i, (filename, content, content_type) in enumerate(files.values()):
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{i}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def upload(
    client: GraphQLClient, application_id: str, content: bytes, *, filename: str = "nda.pdf",
    content_type: str = "application/pdf", code: str = "NDA",
) -> dict[str, Any]:
    """documentUpload as a multipart request; the whole response JSON."""
    operations = {"query": UPLOAD, "variables": {"id": application_id, "code": code, "file": None}}
    body, header = multipart(operations, {"variables.file": (filename, content, content_type)})
    headers = {"Content-Type": header}
    if client.token:
        headers["Authorization"] = f"Bearer {client.token}"
    response = await client.http.post("/graphql", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def uploaded(client: GraphQLClient, application_id: str, content: bytes = PDF, **kw: Any) -> dict[str, Any]:
    """documentUpload that must succeed: the document."""
    result = await upload(client, application_id, content, **kw)
    assert not result.get("errors"), result
    payload = result["data"]["documentUpload"]
    assert payload["userErrors"] == [], payload
    return payload["document"]


def stored_files(settings: Any) -> list[Path]:
    directory = Path(settings.data_dir) / "documents"
    return sorted(directory.iterdir()) if directory.exists() else []


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver")


async def given_application(world: dict, status: str = "NOT_SUBMITTED", location: str = "china") -> str:  # type: ignore[type-arg]
    row = await testing.make_application(
        DOCS_PROGRAM.code, world[location], status=status, invited_by=world["admin"],
        invited_users=[world["li"]],
    )
    return ids.encode("Application", row.id)


# --- upload and download ----------------------------------------------------------------


async def test_upload_stores_the_file_and_the_link_downloads_it(client, world, docs_program, settings):
    # given li's NOT_SUBMITTED application, which requires the NDA
    gid = await given_application(world)
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    # when li uploads a PDF
    doc = await uploaded(li, gid, PDF, filename="Signed NDA.pdf")
    # then the document is recorded with what the content showed, pending review
    assert {k: doc[k] for k in ("requirementCode", "filename", "contentType", "size", "status",
                                "superseded", "uploadedBy")} == {
        "requirementCode": "NDA", "filename": "Signed NDA.pdf", "contentType": "application/pdf",
        "size": len(PDF), "status": "PENDING", "superseded": False,
        "uploadedBy": {"username": "li.wei"},
    }
    view = (await li.data(APPLICATION, {"id": gid}))["application"]
    assert [d["id"] for d in view["documents"]] == [doc["id"]]
    assert view["missingDocuments"] == [{"code": "NDA"}]  # uploaded, not yet accepted
    assert [e["kind"] for e in view["events"]] == ["DOCUMENT_UPLOADED"]
    # and the file is on disk under a random name, with the same bytes, nothing else left
    files = stored_files(settings)
    assert len(files) == 1 and re.fullmatch(r"[0-9a-f]{32}", files[0].name)
    assert files[0].read_bytes() == PDF
    row = await Document.get(id=ids.decode(doc["id"], "Document"))
    assert row.storage_name == files[0].name and len(row.sha256) == 64
    # and the signed link serves it, as an attachment the browser must not sniff
    response = await client.http.get(path_of(doc["downloadUrl"]))
    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == "attachment; filename*=utf-8''Signed%20NDA.pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "private, no-store"


async def test_bad_links_are_all_the_same_404(client, world, docs_program, settings):
    gid = await given_application(world)
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    doc = await uploaded(li, gid)
    doc_id = ids.decode(doc["id"], "Document")
    url = path_of(doc["downloadUrl"])
    good_sig = url.rsplit("signature=", 1)[1]
    expires = url.split("expires=", 1)[1].split("&", 1)[0]
    fake_ctx = SimpleNamespace(settings=settings)
    past = str(int(time.time()) - 10)
    bad = {
        "tampered signature": url[:-1] + ("0" if url[-1] != "0" else "1"),
        "expired": path_of(documents.download_url(fake_ctx, await Document.get(id=doc_id),  # type: ignore[arg-type]
                                                  now=time.time() - 3600)),
        "expiry moved": f"/documents/{doc_id}?expires={int(expires) + 60}&signature={good_sig}",
        "signature of another document": f"/documents/{doc_id + 1}?expires={expires}&signature={good_sig}",
        "unknown id, validly signed": (
            f"/documents/999999?expires={expires}&signature="
            + sign(settings.secret_key, f"document:999999:{expires}")
        ),
        "past expiry, validly signed": (
            f"/documents/{doc_id}?expires={past}&signature=" + sign(settings.secret_key, f"document:{doc_id}:{past}")
        ),
        "no parameters": f"/documents/{doc_id}",
        "non-ASCII signature": f"/documents/{doc_id}?expires={expires}&signature=%C3%A9",
        "non-ASCII digits": f"/documents/{doc_id}?expires=%C2%B2&signature={good_sig}",
    }
    answers = {}
    for name, link in bad.items():
        response = await client.http.get(link)
        answers[name] = (response.status_code, response.text)
    assert set(answers.values()) == {(404, uploads.NOT_FOUND_BODY)}, answers
    assert (await client.http.get(url)).status_code == 200  # the real link still works


async def test_a_file_on_disk_that_is_gone_is_the_same_404(client, world, docs_program, settings):
    gid = await given_application(world)
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    doc = await uploaded(li, gid)
    for path in stored_files(settings):
        path.unlink()
    response = await client.http.get(path_of(doc["downloadUrl"]))
    assert (response.status_code, response.text) == (404, uploads.NOT_FOUND_BODY)


# --- what is refused --------------------------------------------------------------------


async def test_the_content_decides_the_type_not_the_name(client, world, docs_program, settings):
    gid = await given_application(world)
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    # a PNG named .pdf and declared application/pdf
    result = await upload(li, gid, PNG, filename="nda.pdf", content_type="application/pdf")
    errors = result["data"]["documentUpload"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", ["input", "file"])]
    assert "PNG" in errors[0]["message"]
    # a file of no known type, and an empty file
    for content in (b"just some text, not a PDF at all", b"", b"%PD"):
        result = await upload(li, gid, content)
        errors = result["data"]["documentUpload"]["userErrors"]
        assert [(e["code"], e["field"]) for e in errors] == [("INVALID", ["input", "file"])], content
    assert stored_files(settings) == []
    assert await Document.all().count() == 0


async def test_oversize_is_refused(client, world, docs_program, settings):
    gid = await given_application(world)
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    too_big = PDF + b"%" * (MAX_SIZE + 1 - len(PDF))
    result = await upload(li, gid, too_big)
    errors = result["data"]["documentUpload"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", ["input", "file"])]
    assert "1 MB" in errors[0]["message"]
    assert stored_files(settings) == []
    # exactly the maximum is fine
    doc = await uploaded(li, gid, too_big[:MAX_SIZE])
    assert doc["size"] == MAX_SIZE


async def test_client_path_names_are_reduced_to_a_harmless_file_name(client, world, docs_program, settings):
    gid = await given_application(world)
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    doc = await uploaded(li, gid, filename="../../etc/passwd.pdf")
    assert doc["filename"] == "passwd.pdf"
    assert [p.parent for p in stored_files(settings)] == [Path(settings.data_dir) / "documents"]
    assert not (Path(settings.data_dir) / "etc").exists()


def test_clean_filename() -> None:
    assert storage.clean_filename("../../etc/passwd.pdf") == "passwd.pdf"
    assert storage.clean_filename("C:\\Users\\li\\nda.pdf") == "nda.pdf"
    assert storage.clean_filename("nda\r\n\x00\u202egpj.pdf") == "ndagpj.pdf"
    assert storage.clean_filename("..") == "document"
    assert storage.clean_filename("dir/") == "document"
    assert storage.clean_filename(None) == "document"
    assert storage.clean_filename("  Vertrag für Österreich.pdf ") == "Vertrag für Österreich.pdf"
    long = storage.clean_filename("a" * 300 + ".pdf")
    assert len(long) == 255 and long.endswith(".pdf")


def test_sniff() -> None:
    assert storage.sniff(PDF[:16]) == "application/pdf"
    assert storage.sniff(PNG[:16]) == "image/png"
    assert storage.sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00") == "image/jpeg"
    assert storage.sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert storage.sniff(b"GIF89a") == "image/gif"
    assert storage.sniff(b"PK\x03\x04") is None
    assert storage.sniff(b"") is None


async def test_upload_rules(client, world, docs_program, settings):
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    # a requirement the application does not have
    gid = await given_application(world)
    result = await upload(li, gid, PDF, code="PASSPORT")
    assert [(e["code"], e["field"]) for e in result["data"]["documentUpload"]["userErrors"]] == [
        ("INVALID", ["input", "requirementCode"])
    ]
    # not started yet
    invited = await given_application(world, status="IN_PROGRESS", location="austria")
    result = await upload(li, invited, PDF)
    assert [(e["code"], e["field"]) for e in result["data"]["documentUpload"]["userErrors"]] == [
        ("INVALID_STATUS", ["input", "applicationId"])
    ]
    # CHANGES_REQUESTED takes uploads (SMB_SELECT requires no documents: the status check
    # passes, the requirement check does not)
    changes = await testing.make_application("SMB_SELECT", world["austria"], status="CHANGES_REQUESTED")
    result = await upload(li, ids.encode("Application", changes.id), PDF)
    assert [(e["code"], e["field"]) for e in result["data"]["documentUpload"]["userErrors"]] == [
        ("INVALID", ["input", "requirementCode"])
    ]
    # a file sent as a JSON string instead of a multipart part
    response = await li.gql(UPLOAD, {"id": gid, "code": "NDA", "file": "JVBERi0xLjQ="})
    assert [(e["code"], e["field"]) for e in response["data"]["documentUpload"]["userErrors"]] == [
        ("INVALID", ["input", "file"])
    ]
    assert stored_files(settings) == []


async def test_closed_applications_take_no_uploads(client, world, docs_program):
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    for status, location in (("APPROVED", "china"), ("WITHDRAWN", "austria")):
        gid = await given_application(world, status=status, location=location)
        result = await upload(li, gid, PDF)
        assert [(e["code"], e["field"]) for e in result["data"]["documentUpload"]["userErrors"]] == [
            ("INVALID_STATUS", ["input", "applicationId"])
        ]


async def test_a_new_upload_supersedes_the_earlier_one(client, world, docs_program, settings):
    gid = await given_application(world)
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    first = await uploaded(li, gid, PDF, filename="draft.pdf")
    second = await uploaded(li, gid, PDF + b"% signed\n", filename="signed.pdf")
    view = (await li.data(APPLICATION, {"id": gid}))["application"]
    assert [(d["filename"], d["superseded"]) for d in view["documents"]] == [
        ("draft.pdf", True), ("signed.pdf", False)
    ]
    assert len(stored_files(settings)) == 2  # the old file stays: the trail can show it
    # the superseded one cannot be reviewed any more
    admin = await client.as_user("admin", ADMIN_PASSWORD)
    result = await admin.data(REVIEW, {"id": first["id"], "decision": "ACCEPTED"})
    assert [(e["code"], e["field"]) for e in result["documentReview"]["userErrors"]] == [
        ("INVALID_STATUS", ["input", "documentId"])
    ]
    accepted = await admin.data(REVIEW, {"id": second["id"], "decision": "ACCEPTED"})
    assert accepted["documentReview"]["document"]["status"] == "ACCEPTED"


async def test_an_upload_to_a_submitted_application_emails_the_admins(client, world, docs_program, app, smtp):
    gid = await given_application(world, status="SUBMITTED")
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    await uploaded(li, gid, filename="nda-signed.pdf")
    await app.state.relay.drain_once()
    messages = await smtp.wait_for(1)
    assert [m.rcpt_tos for m in messages] == [["admin@example.com"]]
    assert "document" in messages[0].subject.lower()
    assert "Signed NDA" in messages[0].text and "nda-signed.pdf" in messages[0].text
    # while NOT_SUBMITTED nobody is emailed
    smtp.messages.clear()
    other = await given_application(world, location="austria")
    await uploaded(li, other)
    await app.state.relay.drain_once()
    assert smtp.messages == []


# --- review -----------------------------------------------------------------------------


async def test_review_reject_then_accept(client, world, docs_program, app, smtp):
    gid = await given_application(world)
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    doc = await uploaded(li, gid)
    admin = await client.as_user("admin", ADMIN_PASSWORD)
    # a rejection needs a comment
    for comment in (None, "   "):
        result = await admin.data(REVIEW, {"id": doc["id"], "decision": "REJECTED", "comment": comment})
        assert [(e["code"], e["field"]) for e in result["documentReview"]["userErrors"]] == [
            ("REQUIRED", ["input", "comment"])
        ]
    # rejected with a comment: the partner is asked to upload again
    rejected = await admin.data(REVIEW, {"id": doc["id"], "decision": "REJECTED",
                                         "comment": "The signature is missing on page 2."})
    assert rejected["documentReview"] == {
        "document": {"status": "REJECTED", "reviewComment": "The signature is missing on page 2."},
        "userErrors": [],
    }
    await app.state.relay.drain_once()
    messages = await smtp.wait_for(1)
    assert [m.rcpt_tos for m in messages] == [["li.wei@example.com"]]
    assert "The signature is missing on page 2." in messages[0].text
    assert "Signed NDA" in messages[0].subject and "Signed NDA" in messages[0].text
    # accepted (the admin changed their mind): nothing is missing any more
    accepted = await admin.data(REVIEW, {"id": doc["id"], "decision": "ACCEPTED"})
    assert accepted["documentReview"]["document"]["status"] == "ACCEPTED"
    view = (await li.data(APPLICATION, {"id": gid}))["application"]
    assert view["missingDocuments"] == []
    assert [(e["kind"], e["comment"]) for e in view["events"]] == [
        ("DOCUMENT_UPLOADED", None),
        ("DOCUMENT_REVIEWED", "The signature is missing on page 2."),
        ("DOCUMENT_REVIEWED", None),
    ]
    row = await Document.get(id=ids.decode(doc["id"], "Document"))
    assert row.reviewed_by_id == world["admin"].id and row.reviewed_at is not None


async def test_review_unknown_or_malformed_id_is_not_found(client, world, docs_program):
    admin = await client.as_user("admin", ADMIN_PASSWORD)
    for bad in (ids.encode("Document", 424242), "not-an-id", ids.encode("Application", 1)):
        result = await admin.data(REVIEW, {"id": bad, "decision": "ACCEPTED"})
        assert [(e["code"], e["field"], e["message"]) for e in result["documentReview"]["userErrors"]] == [
            ("NOT_FOUND", ["input", "documentId"], "Not found.")
        ]


# --- who may do what --------------------------------------------------------------------


async def test_partners_do_not_review_and_admins_do_not_upload(client, world, docs_program):
    gid = await given_application(world)
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    doc = await uploaded(li, gid)
    result = await li.gql(REVIEW, {"id": doc["id"], "decision": "ACCEPTED"})
    assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"]
    admin = await client.as_user("admin", ADMIN_PASSWORD)
    result = await upload(admin, gid, PDF)
    assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"]
    anonymous = await upload(GraphQLClient(client.http), gid, PDF)
    assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]
    assert await Document.all().count() == 1


async def test_another_partners_application_is_reported_as_nonexistent(client, world, docs_program, settings):
    gid = await given_application(world)
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    doc = await uploaded(li, gid)
    ole = await client.as_user("ole.hansen", PARTNER_PASSWORD)
    foreign = await upload(ole, gid, PDF)
    missing = await upload(ole, ids.encode("Application", 999999), PDF)
    assert foreign == missing
    assert [(e["code"], e["field"]) for e in foreign["data"]["documentUpload"]["userErrors"]] == [
        ("NOT_FOUND", ["input", "applicationId"])
    ]
    # nor can ole reach the document itself
    assert (await ole.data(NODE, {"id": doc["id"]}))["node"] is None
    assert (await li.data(NODE, {"id": doc["id"]}))["node"] == {"id": doc["id"]}
    # mei acts for China only: Austria's application does not exist for her
    austria = await given_application(world, location="austria")
    mei = await client.as_user("mei.lin", PARTNER_PASSWORD)
    assert await upload(mei, austria, PDF) == {
        "data": {"documentUpload": {"document": None, "userErrors": missing["data"]["documentUpload"]["userErrors"]}}
    }
    assert len(stored_files(settings)) == 1


async def test_a_database_failure_leaves_no_file(client, world, docs_program, settings, monkeypatch):
    gid = await given_application(world)
    li = await client.as_user("li.wei", PARTNER_PASSWORD)

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(documents.events, "record", broken)
    result = await upload(li, gid, PDF)
    assert result["errors"][0]["message"] == "Unexpected error."
    assert stored_files(settings) == []
    assert await Document.all().count() == 0


# --- the size limit in front of /graphql ------------------------------------------------


async def test_a_declared_body_over_the_limit_is_refused_unread(client, world, docs_program, settings):
    gid = await given_application(world)
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    operations = {"query": UPLOAD, "variables": {"id": gid, "code": "NDA", "file": None}}
    body, header = multipart(operations, {"variables.file": ("big.pdf", PDF, "application/pdf")})
    body = body + b" " * (uploads.MAX_REQUEST_BYTES + 1 - len(body))
    read = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal read
        for start in range(0, len(body), 1 << 20):
            read += 1
            yield body[start:start + (1 << 20)]

    response = await client.http.post(
        "/graphql", content=chunks(),
        headers={"Content-Type": header, "Content-Length": str(len(body)),
                 "Authorization": f"Bearer {li.token}"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert read <= 1  # refused on the header, before the body was read
    assert await Document.all().count() == 0 and stored_files(settings) == []


async def test_a_streamed_body_is_cut_off_at_the_limit(client, world, docs_program, settings, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_REQUEST_BYTES", 256 * 1024)
    gid = await given_application(world)
    li = await client.as_user("li.wei", PARTNER_PASSWORD)
    operations = {"query": UPLOAD, "variables": {"id": gid, "code": "NDA", "file": None}}
    body, header = multipart(operations, {"variables.file": ("big.pdf", PDF + b"%" * 900_000, "application/pdf")})
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        nonlocal sent
        for start in range(0, len(body), 16 * 1024):
            sent += 16 * 1024
            yield body[start:start + 16 * 1024]

    response = await client.http.post(
        "/graphql", content=chunks(),
        headers={"Content-Type": header, "Authorization": f"Bearer {li.token}"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert sent <= 256 * 1024 + 16 * 1024  # reading stopped at the limit
    assert await Document.all().count() == 0 and stored_files(settings) == []
    # and a small request on the same app still works
    doc = await uploaded(li, gid)
    assert doc["status"] == "PENDING"


async def test_only_graphql_is_limited(client, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_REQUEST_BYTES", 10)
    response = await client.http.post("/healthz", content=b"x" * 100)
    assert response.status_code == 405  # reached the route: not stopped by the limit
    graphql = await client.http.post("/graphql", json={"query": "{ me { id } }"})
    assert graphql.status_code == 413

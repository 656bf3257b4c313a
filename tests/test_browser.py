"""The web app in a real browser: Playwright driving Debian's Chromium (headless) against
`smbselect serve` and a real SMTP server, through the UI only.

The whole seed flow, in English and then in Turkish: the admin's invitation, the link in the
received email, a first password (a too-short one first: the server's userError appears next
to the field), the location, the program, the job roles (a third role for one person is
refused), I Do NOT Accept then I Accept, the submit page's blockers and SUBMIT, the required
document's upload, and the admin's document review, email preview, Confirm and Send Email,
and the email that announces the approval. Screenshots of each screen go to
test-artifacts/screenshots/.

Also, without a browser: the pages the server answers for the app's routes (CSP, no
shadowing of the API), and the two dictionaries (same keys, every key the code uses).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import textwrap
from pathlib import Path

from datetime import date, datetime, timezone

import httpx
import pytest

from smbselect import testing
from smbselect.db.enums import UserRole
from smbselect.db.models import Application

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "smbselect" / "static" / "app"
PLUGIN_DIR = Path(__file__).parent / "plugins"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("SMBSELECT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NEW_PASSWORD = "li-first-password"

# A program with three job roles (so one person can be offered a third) and the e2e program's
# required PDF: tests/plugins/e2e_program.py's SMB Select Plus with a Field Engineer added.
TRIO_PLUGIN = textwrap.dedent('''
    from dataclasses import replace

    from e2e_program import PROGRAM as PLUS
    from smbselect.plugins.definitions import JobRoleDef
    from smbselect.plugins.hookspecs import hookimpl

    PROGRAM = replace(PLUS, code="SMB_TRIO", name="SMB Select Trio", job_roles=PLUS.job_roles + (
        JobRoleDef("FIELD_ENGINEER", "Field Engineer", ("CSE", "CSA")),))


    @hookimpl
    def smbselect_programs():
        return [PROGRAM]
''')

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def dictionary(lang: str) -> dict[str, str]:
    """i18n/<lang>.js: one `"key": "text",` per line."""
    text = (APP_DIR / "i18n" / f"{lang}.js").read_text(encoding="utf-8")
    pairs = re.findall(r'^\s*"([^"]+)":\s*"((?:[^"\\]|\\.)*)",?\s*$', text, re.M)
    return {k: v.encode("latin-1", "backslashreplace").decode("unicode-escape") for k, v in pairs}


class Words:
    """The app's strings in one language, as the tests look for them on screen."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.d = dictionary(lang)

    def __call__(self, key: str, **params: object) -> str:
        if params.get("n") == 1 and f"{key}.one" in self.d:
            key = f"{key}.one"  # as i18n.js's t() does
        text = self.d[key]
        for name, value in params.items():
            text = text.replace("{" + name + "}", str(value))
        return text


# --- without a browser ----------------------------------------------------------------------


def test_dictionaries_have_the_same_keys_and_every_key_the_code_uses():
    en, tr = dictionary("en"), dictionary("tr")
    assert set(en) == set(tr)
    assert all(v.strip() for v in [*en.values(), *tr.values()])
    for lang in ("en", "tr"):
        raw = (APP_DIR / "i18n" / f"{lang}.js").read_text(encoding="utf-8")
        assert len(re.findall(r'^\s*"', raw, re.M)) == len(dictionary(lang)), f"a line of {lang}.js is not one key and one text"
    used: set[str] = set()
    for path in [*APP_DIR.glob("*.js"), *APP_DIR.glob("views/*.js")]:
        used |= set(re.findall(r'\bt\("([\w.]+)"', path.read_text(encoding="utf-8")))
        used |= set(re.findall(r'"((?:error|blocker)\.[\w.]+)"', path.read_text(encoding="utf-8")))
    assert used - set(en) == set()
    # the keys the code builds from enum values
    sdl = (ROOT / "contract" / "core.graphql").read_text(encoding="utf-8")

    def enum(name: str) -> list[str]:
        body = re.search(r"enum %s \{(.*?)\}" % name, sdl, re.S).group(1)
        return re.findall(r"^\s*([A-Z_]+)\s*$", body, re.M)

    for prefix, values in [("status.", enum("ApplicationStatus") + enum("DocumentStatus")),
                           ("event.", enum("ApplicationEventKind")), ("role.", enum("UserRole")),
                           ("decision.", enum("Decision")), ("email.", enum("EmailStatus")),
                           ("order.", enum("ApplicationOrderField") + enum("OrderDirection")),
                           ("error.", enum("ErrorCode"))]:
        assert {prefix + v for v in values} - set(en) == set(), prefix


async def test_the_app_is_served_at_its_routes_with_a_strict_csp(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for path in ["/", "/login", "/invitations/abc-DEF_1", "/password-reset/tok", "/password-reset",
                     "/locations", "/locations/TG9j", "/applications/QXBw", "/applications/QXBw/terms",
                     "/admin", "/admin/queue", "/admin/registry"]:
            page = await http.get(path)
            assert page.status_code == 200, path
            assert '<script type="module" src="/static/app/main.js">' in page.text
            csp = page.headers["content-security-policy"]
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
            assert "unsafe-inline" not in csp
            assert page.headers["referrer-policy"] == "no-referrer"
        script = await http.get("/static/app/main.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert (await http.get("/static/app/i18n/tr.js")).status_code == 200
        # the API's own routes are not shadowed
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        assert (await http.post("/graphql", json={"query": "{ me { id } }"})).json() == {"data": {"me": None}}
        assert (await http.get("/documents/1")).status_code != 200
        assert (await http.get("/nothing-here")).status_code == 404
        assert (await http.get("/applications/a/b/c")).status_code == 404


def test_the_app_uses_no_cdn_no_inline_code_and_only_graphql():
    index = (APP_DIR / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in index and "style=" not in index and "onclick" not in index
    for path in APP_DIR.rglob("*"):
        if path.suffix in {".js", ".css", ".html"}:
            text = path.read_text(encoding="utf-8")
            assert "http://" not in text and "https://" not in text, path
            assert ".innerHTML" not in text and "eval(" not in text, path
    fetches = re.findall(r'fetch\("([^"]+)"', (APP_DIR / "api.js").read_text(encoding="utf-8"))
    assert fetches == ["/graphql"]


# --- in the browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium_path() -> str:
    pytest.importorskip("playwright.async_api")
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is required in CI: {CHROMIUM} is missing")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


class Screens:
    """Saves a screenshot of each screen: test-artifacts/screenshots/<lang>-<nn>-<name>.png."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.count = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob(f"{lang}-*.png"):
            old.unlink()

    async def __call__(self, page, name: str, full_page: bool = True) -> None:  # type: ignore[no-untyped-def]
        self.count += 1
        await page.wait_for_load_state("networkidle")
        await page.screenshot(path=str(SCREENSHOTS / f"{self.lang}-{self.count:02d}-{name}.png"), full_page=full_page)

    async def part(self, locator, name: str) -> None:  # type: ignore[no-untyped-def]
        """One region of a long screen."""
        self.count += 1
        await locator.screenshot(path=str(SCREENSHOTS / f"{self.lang}-{self.count:02d}-{name}.png"))


async def heading(page, text: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    await expect(page.locator("main h1")).to_have_text(text)


@pytest.mark.parametrize("lang", ["en", "tr"])
async def test_the_whole_flow_through_the_web_app(db, smtp, tmp_path, chromium_path, lang):
    from playwright.async_api import async_playwright, expect

    w = Words(lang)
    shot = Screens(lang)

    # --- given: an admin; Equant's Li (no password yet) acts for China and Austria; staff ---
    await testing.make_user("ada", role=UserRole.ADMIN, password=testing.ADMIN_PASSWORD, name="Ada Admin",
                            email_address="ada@cisco.example")
    equant = await testing.make_partner("Equant")
    china = await testing.make_location(equant, "Equant China", "CN")
    austria = await testing.make_location(equant, "Equant Austria", "AT")
    await testing.make_user("li.wei", partner=equant, name="Li Wei", acts_for=[china, austria],
                            email_address="li.wei@equant.example")
    # Chen can log in (an invitation needs a partner with at least one such user)
    await testing.make_user("chen.jing", partner=equant, name="Chen Jing", staff_of=[china], certifications={"CSE": None},
                            password=testing.PARTNER_PASSWORD)
    await testing.make_user("zhang.min", partner=equant, name="Zhang Min", staff_of=[china], certifications={"CSA": None})
    await testing.make_user("liu.yang", partner=equant, name="Liu Yang", staff_of=[china])
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "browser_trio.py").write_text(TRIO_PLUGIN)
    pdf = tmp_path / "agreement.pdf"
    pdf.write_bytes(PDF)

    env = {
        "SMBSELECT_DATABASE_URL": db,
        "SMBSELECT_SMTP_HOST": smtp.host,
        "SMBSELECT_SMTP_PORT": str(smtp.port),
        "SMBSELECT_SECRET_KEY": "browser-secret",
        "SMBSELECT_DATA_DIR": str(tmp_path / "data"),
        "SMBSELECT_SUPPORT_EMAIL": "support@smbselect.test",
        "SMBSELECT_MAIL_POLL_SECONDS": "0.2",
        "SMBSELECT_PLUGINS": "browser_trio",
        "PYTHONPATH": os.pathsep.join([str(plugins), str(PLUGIN_DIR), os.environ.get("PYTHONPATH", "")]),
    }
    server = testing.ServerProcess(env, cwd=str(tmp_path))
    server.env["SMBSELECT_PUBLIC_URL"] = server.url
    server.env["SMBSELECT_APP_URL"] = server.url  # the links in the emails open this app
    problems: list[str] = []

    async with server, async_playwright() as pw:
        # another partner's application, submitted long ago: overdue in the queue
        nordic = await testing.make_partner("Nordic Networks")
        oslo = await testing.make_location(nordic, "Nordic Oslo", "NO")
        late = await testing.make_application("SMB_SELECT", oslo, status="SUBMITTED")
        await Application.filter(id=late.id).update(submitted_at=datetime(2026, 1, 5, 9, tzinfo=timezone.utc),
                                                    review_due_on=date(2026, 1, 12))
        browser = await pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            admin_ctx = await browser.new_context(viewport={"width": 1200, "height": 900}, locale=lang)
            partner_ctx = await browser.new_context(viewport={"width": 1200, "height": 900}, locale=lang)
            admin = await admin_ctx.new_page()
            li = await partner_ctx.new_page()
            for page in (admin, li):
                page.set_default_timeout(20_000)
                page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

            async def switch_language(page) -> None:  # type: ignore[no-untyped-def]
                # the language switch is on every screen; the browser's locale is English
                # for one run and Turkish for the other, and the switch is pressed anyway
                other = "tr" if lang == "en" else "en"
                await page.get_by_role("button", name={"en": "English", "tr": "Türkçe"}[other]).click()
                await expect(page.locator("html")).to_have_attribute("lang", other)
                await page.get_by_role("button", name={"en": "English", "tr": "Türkçe"}[lang]).click()
                await expect(page.locator("html")).to_have_attribute("lang", lang)

            # --- the admin logs in (keyboard only) and sends the invitation ---
            await admin.goto(server.url + "/")
            await heading(admin, w("login.title"))
            await switch_language(admin)
            await shot(admin, "login")
            await admin.get_by_label(w("login.username")).focus()
            await admin.keyboard.type("ada")
            await admin.keyboard.press("Tab")
            await admin.keyboard.type(testing.ADMIN_PASSWORD)
            await admin.keyboard.press("Enter")
            await heading(admin, w("queue.title"))

            await admin.get_by_role("link", name=w("nav.invite")).click()
            await heading(admin, w("invite.title"))
            await admin.get_by_label("SMB Select Trio").check()
            await admin.get_by_label(w("invite.search")).fill("equ")
            await admin.get_by_label(w("invite.search")).press("Enter")
            await expect(admin.get_by_label("Equant", exact=False).first).to_be_checked()
            await admin.get_by_label("Li Wei (li.wei)").check()
            await shot(admin, "admin-invitation")
            await admin.get_by_role("button", name=w("invite.send")).click()
            await expect(admin.get_by_text(w("invite.sent", program="SMB Select Trio",
                                              people="Li Wei <li.wei@equant.example>"))).to_be_visible()
            await shot(admin, "admin-invitation-sent")

            [invitation] = await drained(smtp, 1)
            assert invitation.rcpt_tos == ["li.wei@equant.example"]
            link = next(u for u in invitation.links() if "/invitations/" in u)
            assert link.startswith(server.url + "/invitations/")

            # --- Li follows the link in the email and chooses her first password ---
            await li.goto(link)
            await heading(li, w("invitation.title"))
            await switch_language(li)
            await expect(li.get_by_text("SMB Select Trio").first).to_be_visible()
            await shot(li, "invitation")
            await li.get_by_role("textbox", name=w("password.new"), exact=True).fill("short")
            await li.get_by_label(w("password.confirm")).fill("short")
            await li.get_by_role("button", name=w("invitation.setAndContinue")).click()
            too_short = w("error.passwordRule") if lang != "en" else "at least 10 characters"
            password_field = li.locator(".field", has=li.get_by_role("textbox", name=w("password.new"), exact=True))
            await expect(password_field.locator(".field-error")).to_contain_text(too_short)
            await expect(li.get_by_role("textbox", name=w("password.new"), exact=True)).to_have_attribute("aria-invalid", "true")
            await shot(li, "invitation-password-error")
            await li.get_by_role("textbox", name=w("password.new"), exact=True).fill(NEW_PASSWORD)
            await li.get_by_label(w("password.confirm")).fill(NEW_PASSWORD)
            await li.get_by_role("button", name=w("invitation.setAndContinue")).click()

            # --- the location (SC-4), then the program (SC-5) ---
            await heading(li, w("locations.title"))
            await shot(li, "locations")
            await li.get_by_role("button", name=w("common.select")).click()
            await expect(li.get_by_text(w("locations.pick"))).to_be_visible()  # nothing chosen yet
            await li.get_by_label("Equant China").check()
            await li.get_by_role("button", name=w("common.select")).click()
            await heading(li, w("programs.title"))
            row = li.get_by_role("row", name=re.compile("SMB Select Trio"))
            await expect(row).to_contain_text(w("status.IN_PROGRESS"))
            await shot(li, "programs")
            await li.get_by_label("SMB Select Trio").check()
            await li.get_by_role("button", name=w("common.select")).click()

            # --- job roles (SC-6): a third role for Chen is refused before the server says no ---
            await heading(li, w("roles.title"))
            await expect(li.get_by_text(w("roles.rule", n=2))).to_be_visible()
            await li.get_by_label("Account Manager").select_option(label="Chen Jing (CSE)")
            await li.get_by_label("Sales Engineer").select_option(label="Chen Jing (CSE)")
            await li.get_by_label("Field Engineer").select_option(label="Chen Jing (CSE)")
            refused = w("roles.tooMany", name="Chen Jing", n=2)
            field_engineer = li.locator(".field", has=li.get_by_label("Field Engineer"))
            await expect(field_engineer.locator(".field-error")).to_have_text(refused)
            await shot(li, "roles-third-role-refused")
            await li.get_by_role("button", name=w("common.save")).click()
            await expect(field_engineer.locator(".field-error")).to_have_text(refused)
            await expect(li.get_by_text(w("roles.saved"))).to_have_count(0)
            # Liu Yang holds no certification, so he is not offered
            assert "Liu Yang" not in await li.get_by_label("Field Engineer").inner_text()
            await li.get_by_label("Field Engineer").select_option(label="Zhang Min (CSA)")
            await expect(field_engineer.locator(".field-error")).to_be_hidden()
            await li.get_by_role("button", name=w("common.save")).click()
            await expect(li.get_by_text(w("roles.saved"), exact=True)).to_be_visible()
            await shot(li, "roles-saved")

            # --- summary (SC-7): NEXT, BACK, NEXT, NEXT ---
            await li.get_by_role("button", name=w("common.next")).click()
            await heading(li, w("summary.title"))
            summary = li.get_by_role("table", name=w("summary.caption"))
            await expect(summary.get_by_role("row", name=re.compile("Field Engineer"))).to_contain_text("Zhang Min")
            await shot(li, "summary")
            await li.get_by_role("link", name=w("common.back"), exact=True).click()
            await heading(li, w("roles.title"))
            await expect(li.get_by_label("Field Engineer")).to_have_value(re.compile(".+"))
            await li.get_by_role("button", name=w("common.next")).click()
            await heading(li, w("summary.title"))
            # a request that takes more than a moment shows the progress indicator
            async def slowly(route) -> None:  # type: ignore[no-untyped-def]
                await asyncio.sleep(1.5)
                await route.continue_()

            await li.route("**/graphql", slowly)
            await li.get_by_role("button", name=w("common.next")).click()
            await expect(li.get_by_role("progressbar")).to_be_visible()
            await expect(li.locator("main")).to_have_attribute("aria-busy", "true")
            await heading(li, w("terms.title"))
            await expect(li.get_by_role("progressbar")).to_be_hidden()
            await li.unroute("**/graphql", slowly)

            # --- terms (SC-8): I Do NOT Accept, then the submit page shows why not ---
            await heading(li, w("terms.title"))
            await expect(li.get_by_text("Plus terms: be excellent to each other.")).to_be_visible()
            await shot(li, "terms")
            await li.get_by_role("button", name=w("terms.decline")).click()
            declined = "must be accepted" if lang == "en" else w("terms.declined")
            await expect(li.get_by_role("alert")).to_contain_text(declined)
            await shot(li, "terms-declined")
            await li.get_by_role("link", name=w("step.submit")).click()
            await heading(li, w("submit.title"))
            await expect(li.get_by_text(w("submit.blocked"))).to_be_visible()
            await expect(li.get_by_role("button", name=w("submit.submit"))).to_have_count(0)
            await shot(li, "submit-blocked")
            await li.get_by_role("link", name=w("blocker.fixTerms")).click()
            await heading(li, w("terms.title"))
            await li.get_by_role("button", name=w("terms.accept")).click()

            # --- submit (SC-9), then the required document (SC-10) ---
            await heading(li, w("submit.title"))
            await expect(li.get_by_text(w("submit.ready"))).to_be_visible()
            await shot(li, "submit")
            await li.get_by_role("button", name=w("submit.submit")).click()
            await heading(li, w("documents.title"))
            mails = await drained(smtp, 3)
            assert sorted(m.rcpt_tos[0] for m in mails[1:]) == ["ada@cisco.example", "li.wei@equant.example"]
            await shot(li, "documents")
            await li.get_by_label(w("documents.file", doc="Signed partner agreement")).set_input_files(str(pdf))
            await li.get_by_role("button", name=w("documents.upload")).click()
            await expect(li.get_by_text(w("documents.uploaded", file="agreement.pdf"))).to_be_visible()
            await expect(li.get_by_role("table", name=w("documents.uploads"))).to_contain_text(w("status.PENDING"))
            await shot(li, "documents-uploaded")
            await drained(smtp, 4)  # the admin hears of the upload

            await li.get_by_role("link", name=w("app.overviewLink")).click()
            await heading(li, "SMB Select Trio")
            await expect(li.locator(".facts")).to_contain_text(w("status.SUBMITTED"))
            await expect(li.locator(".facts")).to_contain_text(w("app.reviewDue"))
            await shot(li, "status-submitted")

            # --- the admin: queue, detail, document, email preview, Confirm and Send Email ---
            await admin.get_by_role("link", name=w("nav.queue")).click()
            await heading(admin, w("queue.title"))
            queue_row = admin.get_by_role("row", name=re.compile("Equant China"))
            await expect(queue_row).to_contain_text(w("status.SUBMITTED"))
            # ordered by review due date: the overdue one first, and marked
            rows = admin.locator("table.queue tbody tr")
            await expect(rows).to_have_count(2)
            await expect(rows.nth(0)).to_contain_text("Nordic Oslo")
            await expect(rows.nth(0)).to_contain_text(w("queue.overdue"))
            await expect(rows.nth(1)).not_to_contain_text(w("queue.overdue"))
            await shot(admin, "admin-queue")
            await admin.get_by_label(w("queue.overdueOnly")).check()
            await admin.get_by_role("button", name=w("queue.apply")).click()
            await expect(admin.get_by_text(w("queue.count", n=1))).to_be_visible()
            await expect(rows).to_have_count(1)
            await expect(rows.nth(0)).to_contain_text("Nordic Oslo")
            await admin.get_by_role("link", name=w("queue.reset")).click()
            await expect(rows).to_have_count(3)  # every status: Equant Austria's invitation too
            await admin.get_by_label(w("queue.search")).fill("china")
            await admin.get_by_role("button", name=w("queue.apply")).click()
            await expect(rows).to_have_count(1)
            queue_row = admin.get_by_role("row", name=re.compile("Equant China"))
            await queue_row.get_by_role("link", name="Equant").click()
            await heading(admin, "Equant · Equant China")
            await expect(admin.locator("section.card", has_text=w("detail.terms"))).to_contain_text("li.wei")
            await expect(admin.get_by_role("table", name=w("detail.allocations"))).to_contain_text("Zhang Min")
            await shot(admin, "admin-detail")
            document = admin.get_by_role("link", name="agreement.pdf")
            downloaded = await admin.request.get(await document.get_attribute("href"))
            assert downloaded.status == 200 and await downloaded.body() == PDF
            await admin.get_by_role("button", name=w("detail.acceptDoc")).click()
            await expect(admin.get_by_text(w("detail.docAccepted", file="agreement.pdf"))).to_be_visible()

            await admin.get_by_label(w("decision.APPROVED"), exact=False).first.check()
            await admin.get_by_label(w("decision.comment")).fill("Welcome aboard")
            await expect(admin.get_by_role("button", name=w("decision.confirm"))).to_be_hidden()
            await admin.get_by_role("button", name=w("decision.preview")).click()
            preview = admin.locator(".email-preview article")
            await expect(preview).to_have_count(1)
            await expect(preview).to_contain_text("li.wei@equant.example")
            await expect(preview).to_contain_text("Welcome aboard")
            subject = (await preview.locator("dd").nth(1).inner_text()).strip()
            await shot(admin, "admin-decision-preview")
            await shot.part(admin.locator("form.decision"), "admin-decision-form")
            await admin.get_by_role("button", name=w("decision.confirm")).click()
            await expect(admin.get_by_text(w("decision.done", status=w("status.APPROVED")))).to_be_visible()
            await expect(admin.locator(".facts").first).to_contain_text(w("status.APPROVED"))
            await shot(admin, "admin-approved")

            mails = await drained(smtp, 5)
            assert mails[4].rcpt_tos == ["li.wei@equant.example"]
            assert mails[4].subject == subject
            assert "Welcome aboard" in mails[4].text
            decision_link = next(u for u in mails[4].links() if "/applications/" in u)

            # --- Li opens the link in the decision email: APPROVED, with the comment ---
            await li.goto(decision_link)
            await heading(li, "SMB Select Trio")
            await expect(li.locator(".facts")).to_contain_text(w("status.APPROVED"))
            await expect(li.get_by_text("Welcome aboard").first).to_be_visible()
            await shot(li, "status-approved")
            await li.set_viewport_size({"width": 390, "height": 844})
            await shot(li, "phone-status-approved", full_page=False)

            # --- the admin's outbox and registry ---
            await admin.get_by_role("link", name=w("nav.outbox")).click()
            await heading(admin, w("outbox.title"))
            await expect(admin.get_by_role("table")).to_contain_text(subject)
            await shot(admin, "admin-outbox")
            await admin.get_by_role("link", name=w("nav.registry")).click()
            await heading(admin, w("registry.title"))
            await admin.get_by_role("link", name="Equant", exact=True).click()
            people = admin.get_by_role("table", name=w("registry.people"))
            await expect(people).to_contain_text("Zhang Min")
            await shot(admin, "admin-registry")
            await registry_changes(admin, w, shot)
        except Exception:
            for name, page in (("admin", admin), ("partner", li)):
                await page.screenshot(path=str(SCREENSHOTS / f"{lang}-failed-{name}.png"), full_page=True)
            raise
        finally:
            await browser.close()

    assert problems == []
    if os.environ.get("SMBSELECT_PUBLISH_SCREENSHOTS"):
        publish_screenshots()


async def registry_changes(admin, w: Words, shot: Screens) -> None:  # type: ignore[no-untyped-def]
    """The registry's update operations, each through its form."""
    from playwright.async_api import expect

    saved = admin.get_by_role("status").filter(has_text=w("registry.saved"))
    people = admin.get_by_role("table", name=w("registry.people"))
    liu = people.get_by_role("row", name=re.compile("Liu Yang"))
    # a certification for Liu, then removed again
    await liu.get_by_role("link", name="Liu Yang").click()
    person = admin.locator("section.person")
    await expect(person.get_by_role("heading", name=w("registry.editPerson", name="Liu Yang"))).to_be_visible()
    await person.get_by_role("textbox", name=w("registry.certCode"), exact=True).fill("cse")
    await person.get_by_role("button", name=w("registry.add")).click()
    await expect(saved).to_be_visible()
    await expect(liu).to_contain_text("CSE")
    await shot(admin, "admin-registry-person")
    await person.get_by_role("button", name=w("registry.removeCertLabel", code="CSE", name="Liu Yang")).click()
    await expect(saved).to_be_visible()
    await expect(liu.locator("td").last).to_have_text("—")
    # his name, and the location he is staff of
    await person.get_by_label(w("registry.personName")).fill("Liu Yang Jr")
    await person.get_by_role("group", name=w("registry.staffOf")).get_by_label("Equant Austria").check()
    await person.get_by_role("button", name=w("common.save")).click()
    await expect(saved).to_be_visible()
    await expect(people.get_by_role("row", name=re.compile("Liu Yang Jr"))).to_contain_text("Equant Austria, Equant China")
    # a new location: an unknown country code is refused next to its field, then fixed
    await admin.locator("summary", has_text=w("registry.newLocation")).click()
    form = admin.get_by_role("form", name=w("registry.newLocation"))
    await form.get_by_label(w("registry.locationName")).fill("Equant Türkiye")
    await form.get_by_label(w("registry.country")).fill("ZZ")
    await form.get_by_role("button", name=w("registry.create")).click()
    country_field = form.locator(".field", has=admin.get_by_label(w("registry.country")))
    await expect(country_field.locator(".field-error")).to_be_visible()
    await form.get_by_label(w("registry.country")).fill("tr")
    await form.get_by_role("button", name=w("registry.create")).click()
    await expect(saved).to_be_visible()
    await expect(admin.get_by_role("table", name=w("registry.locations"))).to_contain_text("Equant Türkiye")
    # a new partner
    await admin.locator("summary", has_text=w("registry.newPartner")).click()
    form = admin.get_by_role("form", name=w("registry.newPartner"))
    await form.get_by_label(w("registry.name")).fill("Anatolia Net")
    await form.get_by_role("button", name=w("registry.create")).click()
    await expect(admin.get_by_text(w("registry.created", name="Anatolia Net"))).to_be_visible()
    await expect(admin.get_by_role("table", name=re.compile(re.escape(w("registry.partners", n=3))))).to_contain_text("Anatolia Net")


async def drained(smtp: testing.SmtpCatcher, count: int) -> list[testing.ReceivedMail]:
    await smtp.wait_for(count, timeout=20)
    assert len(smtp.messages) == count, [(m.rcpt_tos, m.subject) for m in smtp.messages]
    return smtp.messages


# The README shows a few of the screens: SMBSELECT_PUBLISH_SCREENSHOTS=1 copies them to docs/screenshots/.
README_SCREENS = {
    ("en", "invitation"): "partner-invitation.png",
    ("en", "roles-third-role-refused"): "partner-job-roles.png",
    ("en", "terms-declined"): "partner-terms.png",
    ("en", "submit-blocked"): "partner-submit-blocked.png",
    ("en", "admin-queue"): "admin-queue.png",
    ("en", "admin-decision-form"): "admin-decision.png",
    ("tr", "roles-third-role-refused"): "partner-job-roles-tr.png",
    ("tr", "phone-status-approved"): "partner-status-phone-tr.png",
}


def publish_screenshots() -> None:
    target = ROOT / "docs" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    for shot in SCREENSHOTS.glob("*.png"):
        lang, _, name = shot.stem.split("-", 2)
        if (lang, name) in README_SCREENS:
            shutil.copyfile(shot, target / README_SCREENS[(lang, name)])


async def test_links_that_do_not_work_say_so(db, smtp, tmp_path, chromium_path):
    """In Turkish: an expired invitation link (with the support address), an unknown one, an
    unknown password reset link, a wrong password; then a password reset through its email."""
    from datetime import timedelta

    from playwright.async_api import async_playwright, expect

    from smbselect.db.models import Invitation, InvitationLink
    from smbselect.security import token_hash

    w = Words("tr")
    admin = await testing.make_user("ada", role=UserRole.ADMIN, password=testing.ADMIN_PASSWORD)
    equant = await testing.make_partner("Equant")
    china = await testing.make_location(equant, "Equant China", "CN")
    li = await testing.make_user("li.wei", partner=equant, password=testing.PARTNER_PASSWORD, acts_for=[china])
    server = testing.ServerProcess({
        "SMBSELECT_DATABASE_URL": db, "SMBSELECT_SMTP_HOST": smtp.host, "SMBSELECT_SMTP_PORT": str(smtp.port),
        "SMBSELECT_SECRET_KEY": "browser-secret", "SMBSELECT_DATA_DIR": str(tmp_path / "data"),
        "SMBSELECT_SUPPORT_EMAIL": "support@smbselect.test",
    }, cwd=str(tmp_path))
    server.env["SMBSELECT_PUBLIC_URL"] = server.env["SMBSELECT_APP_URL"] = server.url
    problems: list[str] = []
    async with server, async_playwright() as pw:
        await testing.make_application("SMB_SELECT", china, invited_by=admin, invited_users=[li])
        invitation = await Invitation.filter(partner_id=equant.id).first()
        await InvitationLink.filter(invitation_id=invitation.id, user_id=li.id).update(
            token_hash=token_hash("expired-link-token"), expires_at=datetime.now(timezone.utc) - timedelta(days=1))
        browser = await pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = await (await browser.new_context(locale="tr-TR")).new_page()
            page.set_default_timeout(20_000)
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            await page.goto(server.url + "/invitations/expired-link-token")
            await heading(page, w("invitation.title"))  # Turkish: the browser's language
            await expect(page.get_by_role("alert")).to_contain_text(w("invitation.expired"))
            await expect(page.get_by_role("alert").get_by_role("link", name="support@smbselect.test")).to_have_attribute(
                "href", "mailto:support@smbselect.test")
            await expect(page.locator("main form")).to_have_count(0)  # no password field to fill in
            await page.screenshot(path=str(SCREENSHOTS / "tr-links-expired.png"), full_page=True)

            await page.goto(server.url + "/invitations/no-such-token")
            await expect(page.get_by_role("alert")).to_have_text(w("invitation.unknown"))

            await page.goto(server.url + "/password-reset/no-such-token")
            await heading(page, w("reset.setTitle"))
            await page.get_by_role("textbox", name=w("password.new"), exact=True).fill("a-long-new-password")
            await page.get_by_role("textbox", name=w("password.confirm"), exact=True).fill("a-long-new-password")
            await page.get_by_role("button", name=w("reset.set")).click()
            await expect(page.get_by_role("alert")).to_contain_text(w("error.resetInvalid"))
            await page.get_by_role("link", name=w("reset.again")).click()
            await heading(page, w("reset.requestTitle"))
            await page.get_by_label(w("reset.login")).fill("li.wei")
            await page.get_by_role("button", name=w("reset.send")).click()
            await expect(page.get_by_text(w("reset.sent"))).to_be_visible()
            [mail] = await drained(smtp, 1)
            assert mail.rcpt_tos == ["li.wei@example.com"]
            reset_link = next(u for u in mail.links() if u.startswith(f"{server.url}/password-reset/"))

            await page.goto(server.url + "/login")
            await page.get_by_label(w("login.username")).fill("li.wei")
            await page.get_by_role("textbox", name=w("login.password"), exact=True).fill("not-her-password")
            await page.get_by_role("button", name=w("login.submit"), exact=True).click()
            await expect(page.get_by_text(w("error.loginFailed"))).to_be_visible()
            # the link in the reset email sets a new password
            await page.goto(reset_link)
            await heading(page, w("reset.setTitle"))
            await page.get_by_role("textbox", name=w("password.new"), exact=True).fill("li-reset-password")
            await page.get_by_role("textbox", name=w("password.confirm"), exact=True).fill("li-reset-passwort")
            await page.get_by_role("button", name=w("reset.set")).click()
            await expect(page.get_by_text(w("password.mismatch"))).to_be_visible()
            await page.get_by_role("textbox", name=w("password.confirm"), exact=True).fill("li-reset-password")
            await page.get_by_role("button", name=w("reset.set")).click()
            await heading(page, w("login.title"))
            await expect(page.get_by_text(w("reset.done"))).to_be_visible()
            # a page that needs a login sends there, and back after it
            await page.goto(server.url + "/locations")
            await heading(page, w("login.title"))
            await page.get_by_label(w("login.username")).fill("li.wei")
            await page.get_by_role("textbox", name=w("login.password"), exact=True).fill("li-reset-password")
            await page.get_by_role("button", name=w("login.submit"), exact=True).click()
            await heading(page, w("locations.title"))
            await expect(page.get_by_role("radio", name=re.compile("Equant China"))).to_be_checked()
        finally:
            await browser.close()
    assert problems == []

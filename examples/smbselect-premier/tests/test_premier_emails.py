"""SMB Select Premier's emails: Turkish first, then the English original; other programs'
emails untouched. Unit-level through the plugin manager, then once end to end (an
invitation over the real app and a real SMTP server)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from smbselect import ids
from smbselect.db.models import Partner, Program, User

from smbselect_premier import emails, plugin

ORIGINAL = {
    "to": ["ayse.yilmaz@example.com"],
    "cc": ["admin@example.com"],
    "subject": "SMB Select Premier: application for Istanbul Merkez submitted",
    "text": "Thank you. Your application to SMB Select Premier was submitted.\n",
    "html": (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><title>x</title></head>\n"
        "<body style=\"margin:0\">\n<p>Thank you &amp; welcome.</p>\n</body>\n</html>\n"
    ),
}

# Every event the core sends today (grep 'event=' in smbselect/resolvers/), with a word
# its Turkish subject must hold.
EVENTS = {
    "invitation": "davet",
    "application_submitted": "gönderildi",
    "application_submitted_admin": "değerlendirilecek",
    "application_withdrawn_admin": "geri çekildi",
    "application_approved": "onaylandı",
    "application_rejected": "onaylanmadı",
    "application_changes_requested": "değişiklik",
    "document_uploaded_admin": "belge",
    "document_rejected": "belgeyi",
}


@pytest.fixture
def premier(app):
    return app.state.plugins.program(plugin.CODE)


@pytest.mark.parametrize(("event", "word"), list(EVENTS.items()))
async def test_premier_emails_are_turkish_then_english(app, premier, event, word):
    email = app.state.plugins.email(premier, event, "en", ORIGINAL)

    turkish, english = email["subject"].split(" / ", 1)
    assert word in turkish
    assert english == ORIGINAL["subject"]
    assert email["to"] == ORIGINAL["to"] and email["cc"] == ORIGINAL["cc"]
    # the text: the Turkish paragraphs, then the original, whole
    assert email["text"].endswith(ORIGINAL["text"])
    head = email["text"][: -len(ORIGINAL["text"])]
    for paragraph in emails.turkish_part(premier, event).paragraphs:
        assert paragraph in head
    assert emails.SEE_BELOW in head and emails.ENGLISH_FOLLOWS in head
    # the html: the original document, with the Turkish block at the top of its body
    html = email["html"]
    body = html.index("<body style=\"margin:0\">") + len("<body style=\"margin:0\">")
    assert html[:body] + html[html.index("\n<p>Thank you"):] == ORIGINAL["html"]
    assert html.index('<div lang="tr"') == body
    assert "<p>Thank you &amp; welcome.</p>" in html


async def test_every_core_event_has_its_own_turkish_text():
    assert set(EVENTS) <= set(emails.TURKISH)


async def test_an_unknown_event_still_gets_a_generic_turkish_part(app, premier):
    email = app.state.plugins.email(premier, "something_new", "en", ORIGINAL)

    assert email["subject"] == f"SMB Select Premier: bilgilendirme / {ORIGINAL['subject']}"
    assert email["text"].endswith(ORIGINAL["text"])


async def test_our_own_text_is_escaped_in_html():
    odd = replace(plugin.PROGRAM, name="Premier <b>&</b>")

    email = plugin.smbselect_email(odd, "invitation", "en", ORIGINAL)

    assert "Premier &lt;b&gt;&amp;&lt;/b&gt;" in email["html"]
    assert "<b>&</b>" not in email["html"]
    assert "Premier <b>&</b> programına davet" in email["subject"]  # headers are not HTML


async def test_a_text_only_email_stays_text_only(app, premier):
    email = app.state.plugins.email(premier, "invitation", "en", {**ORIGINAL, "html": None})

    assert email["html"] is None
    assert "programına davet" in email["text"]


async def test_smb_select_and_programless_emails_are_unchanged(app):
    plugins = app.state.plugins
    smb = plugins.program("SMB_SELECT")

    for event in EVENTS:
        assert plugins.email(smb, event, "en", ORIGINAL) == ORIGINAL
    assert plugins.email(None, "password_reset", "en", ORIGINAL) == ORIGINAL


async def test_an_email_already_in_another_language_is_left_alone(app, premier):
    assert app.state.plugins.email(premier, "invitation", "tr", ORIGINAL) == ORIGINAL


SEND = """mutation($input: InvitationSendInput!) { invitationSend(input: $input) {
  invitation { program { code } } userErrors { code message } } }"""


async def test_the_invitation_arrives_bilingual(app, smtp, admin_client, partner_client):
    # given the kit's partner user, who acts for "Kit Location"
    user = await User.get(username="kit.partner")
    partner = await Partner.get(id=partner_client.location.partner_id)
    program = await Program.get(code=plugin.CODE)

    # when an admin invites them to SMB Select Premier
    result = (await admin_client.data(SEND, {"input": {
        "programId": ids.encode("Program", program.id),
        "partnerId": ids.encode("Partner", partner.id),
        "userIds": [ids.encode("User", user.id)],
    }}))["invitationSend"]
    assert result["userErrors"] == []
    await app.state.relay.drain_once()
    [mail] = await smtp.wait_for(1)

    # then the email says it in Turkish first, then in English, link included
    assert mail.rcpt_tos == [user.email]
    assert mail.subject == "SMB Select Premier programına davet / Invitation to SMB Select Premier"
    assert mail.text.index("davet edildi") < mail.text.index("is invited to SMB Select Premier")
    assert any("/invitations/" in link for link in mail.links())
    assert mail.html.index('lang="tr"') < mail.html.index("is invited to SMB Select Premier")

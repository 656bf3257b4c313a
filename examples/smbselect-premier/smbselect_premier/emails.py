"""Bilingual emails: a Turkish version of each email, followed by smbselect's English original.

The hook sees the finished email and the event's name, not the facts behind it (the
location, the reviewer's comment, the link), so the Turkish part says what happened and
what to do in general terms and points to the English part below for the details. That
way nothing the core puts in an email is ever lost, and a new event of the core still
gets a (generic) Turkish part.

Everything here is pure: a dict in, a new dict out.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from smbselect.plugins import ProgramDef


@dataclass(frozen=True)
class TurkishPart:
    """The Turkish subject, heading and paragraphs of one event ({name}: the program's name,
    {review_days}: its review time)."""

    subject: str
    title: str
    paragraphs: tuple[str, ...]


SEE_BELOW = "Ayrıntılar ve bağlantı aşağıdaki İngilizce metinde yer almaktadır."
ENGLISH_FOLLOWS = "English version below."

# One entry per event name the core sends (grep 'event=' in smbselect/resolvers/).
TURKISH: dict[str, TurkishPart] = {
    "invitation": TurkishPart(
        subject="{name} programına davet",
        title="{name} programına davet edildiniz",
        paragraphs=(
            "Şirketiniz {name} iş ortaklığı programına davet edildi.",
            "Aşağıdaki kişisel bağlantıyı açarak oturum açın (ilk seferde parolanızı "
            "belirlersiniz), ardından lokasyonunuz için programı seçin ve başvurunuzu "
            "hazırlayın. Bağlantı yalnızca size özeldir; lütfen kimseyle paylaşmayın.",
            "Başvuru için ticaret sicili kayıt belgesi ile imzalı iş ortaklığı sözleşmesi "
            "(PDF) ve geçerli CSE sertifikasına sahip iki Satış Mühendisi gereklidir.",
        ),
    ),
    "application_submitted": TurkishPart(
        subject="{name}: başvurunuz gönderildi",
        title="{name} başvurunuz gönderildi",
        paragraphs=(
            "Teşekkür ederiz. {name} programına yaptığınız başvuru gönderildi.",
            "Değerlendirme yaklaşık {review_days} iş günü sürer; kararı size e-posta ile "
            "bildireceğiz.",
        ),
    ),
    "application_submitted_admin": TurkishPart(
        subject="{name}: değerlendirilecek yeni başvuru",
        title="Değerlendirilecek yeni başvuru: {name}",
        paragraphs=(
            "Bir iş ortağı {name} programına başvurusunu gönderdi.",
            "Lütfen iş rollerini, hüküm ve koşulların kabulünü ve belgeleri kontrol edin; "
            "ardından başvuruyu onaylayın, reddedin veya değişiklik isteyin.",
        ),
    ),
    "application_withdrawn_admin": TurkishPart(
        subject="{name}: başvuru geri çekildi",
        title="Başvuru geri çekildi: {name}",
        paragraphs=(
            "Bir iş ortağı {name} başvurusunu karar verilmeden önce geri çekti.",
            "Değerlendirilecek bir şey kalmadı.",
        ),
    ),
    "application_approved": TurkishPart(
        subject="{name}: başvurunuz onaylandı",
        title="{name} başvurunuz onaylandı",
        paragraphs=(
            "Tebrikler! {name} programına yaptığınız başvuru onaylandı.",
            "Lokasyonunuz artık bir {name} iş ortağıdır ve programın avantajlarından "
            "yararlanabilir.",
        ),
    ),
    "application_rejected": TurkishPart(
        subject="{name}: başvurunuz onaylanmadı",
        title="{name} başvurunuz onaylanmadı",
        paragraphs=(
            "Üzgünüz, {name} programına yaptığınız başvuru onaylanmadı.",
            "Kararın gerekçesi aşağıdaki İngilizce metinde yer almaktadır. Sorularınız için "
            "destek adresine yazabilirsiniz.",
        ),
    ),
    "application_changes_requested": TurkishPart(
        subject="{name}: başvurunuzda değişiklik istendi",
        title="{name} başvurunuzda değişiklik istendi",
        paragraphs=(
            "Değerlendirici, karar vermeden önce başvurunuzda değişiklik yapılmasını istiyor.",
            "Başvuruyu açın, istenen değişiklikleri yapın (kaydettiğiniz rol atamaları "
            "korunur), hüküm ve koşulları yeniden kabul edin ve başvuruyu tekrar gönderin.",
        ),
    ),
    "document_uploaded_admin": TurkishPart(
        subject="{name}: incelenecek yeni belge",
        title="İncelenecek yeni belge: {name}",
        paragraphs=(
            "Gönderilmiş bir {name} başvurusuna yeni bir belge yüklendi.",
            "Lütfen belgeyi inceleyin: kabul edin ya da neyin değişmesi gerektiğini belirten "
            "bir yorumla reddedin.",
        ),
    ),
    "document_rejected": TurkishPart(
        subject="{name}: lütfen belgeyi yeniden yükleyin",
        title="Yüklediğiniz belge kabul edilmedi",
        paragraphs=(
            "{name} başvurunuz için yüklediğiniz bir belge kabul edilmedi.",
            "Değerlendiricinin yorumu aşağıdaki İngilizce metinde yer almaktadır. Lütfen "
            "belgeyi başvuru sayfasından yeniden yükleyin.",
        ),
    ),
}

GENERIC = TurkishPart(
    subject="{name}: bilgilendirme",
    title="{name} programından bilgilendirme",
    paragraphs=("Bu e-posta {name} programındaki başvurunuzla ilgilidir.",),
)

_BODY_TAG = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


def turkish_part(program: ProgramDef, event: str) -> TurkishPart:
    """The Turkish texts of ``event`` with the program's facts filled in."""
    part = TURKISH.get(event, GENERIC)
    facts = {"name": program.name, "review_days": program.review_days}
    return TurkishPart(
        subject=part.subject.format(**facts),
        title=part.title.format(**facts),
        paragraphs=tuple(p.format(**facts) for p in part.paragraphs),
    )


def bilingual(program: ProgramDef, event: str, email: dict[str, Any]) -> dict[str, Any]:
    """A new email: the Turkish part first, then the English original, in subject, text and
    html alike. Recipients are kept as they are."""
    tr = turkish_part(program, event)
    paragraphs = [*tr.paragraphs, SEE_BELOW]
    text = "\n\n".join([tr.title, *paragraphs, ENGLISH_FOLLOWS, "-" * 40, email["text"]])
    return {
        "to": list(email["to"]),
        "cc": list(email.get("cc") or []),
        "subject": f"{tr.subject} / {email['subject']}",
        "text": text,
        "html": _bilingual_html(tr.title, paragraphs, email.get("html")),
    }


def _bilingual_html(title: str, paragraphs: list[str], original: str | None) -> str | None:
    """The Turkish block at the top of the original's body; the original itself untouched.

    Only our own text is escaped: the original is already HTML (and was escaped by the
    core's templates).
    """
    if original is None:
        return None
    block = (
        '<div lang="tr" style="max-width:600px;margin:0 auto;padding:24px 32px;'
        'font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#1f2933;">'
        f'<h2 style="font-size:18px;margin:0 0 12px;">{html.escape(title)}</h2>'
        + "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
        + f'<p style="color:#616e7c;font-size:13px;">{html.escape(ENGLISH_FOLLOWS)}</p>'
        "<hr></div>"
    )
    match = _BODY_TAG.search(original)
    if match is None:
        return block + original
    return original[: match.end()] + block + original[match.end():]

"""Email bodies from Jinja2 templates: one place that decides what our emails say and look like.

Each email ``<name>`` is a pair of templates in ``smbselect/mail/templates``:

- ``<name>.txt.j2``: the plain-text part, not escaped, holding ``{% block subject %}``;
- ``<name>.html.j2``: the HTML part, autoescaped, so user text (a company name, a comment)
  can never inject markup.

Both extend a base layout (``base.txt.j2`` / ``base.html.j2``) whose footer names the support
address (``support_email`` in the context). A translation is another pair,
``<name>.<lang>.txt.j2`` and ``<name>.<lang>.html.j2``; a missing one falls back to English.
The subject lives in the text template so that a translator edits one file per language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jinja2 import (
    Environment,
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    select_autoescape,
)

DEFAULT_LANGUAGE = "en"

# Control characters, C1 controls and the Unicode line/paragraph separators: anything a mail
# client or a header parser could take for a line break.
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]+$")


@dataclass(frozen=True)
class RenderedEmail:
    """What :func:`queue_email` needs: a header-safe subject, a text part and an HTML part."""

    subject: str
    text: str
    html: str


def header_safe(value: str) -> str:
    """``value`` collapsed to one line, so that it cannot end a header and start another.

    Used for subjects here and again in the outbox, because a subject may also be built
    without a template (a resolver passing a user's text straight through).
    """
    return " ".join(_HEADER_UNSAFE.sub(" ", value).split())


def human_minutes(minutes: int) -> str:
    """``90`` -> "90 minutes", ``120`` -> "2 hours", ``2880`` -> "2 days" (for validity lines)."""
    for unit, size in (("day", 1440), ("hour", 60)):
        if minutes >= size and minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}" + ("" if count == 1 else "s")
    return f"{minutes} minute" + ("" if minutes == 1 else "s")


def _environment() -> Environment:
    # PackageLoader reads through importlib, so the templates are found in a wheel too.
    env = Environment(
        loader=PackageLoader("smbselect.mail", "templates"),
        # Names end in ".html.j2"; select_autoescape matches on the name's ending.
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        # A missing variable is a bug in the caller, not an empty line in someone's inbox.
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["human_minutes"] = human_minutes
    return env


_env = _environment()


def _languages(language: str) -> list[str]:
    """Most specific first, English last: ``de-CH`` -> ``["de-ch", "de", "en"]``."""
    lang = (language or "").strip().lower().replace("_", "-")
    if not _LANGUAGE.match(lang):
        return [DEFAULT_LANGUAGE]
    chain = [lang]
    if "-" in lang:
        chain.append(lang.split("-", 1)[0])
    if DEFAULT_LANGUAGE not in chain:
        chain.append(DEFAULT_LANGUAGE)
    return chain


def _template(name: str, language: str, part: str) -> Template:
    """The ``part`` ("txt" or "html") template of ``name`` in the best available language."""
    candidates = [
        f"{name}.{part}.j2" if lang == DEFAULT_LANGUAGE else f"{name}.{lang}.{part}.j2"
        for lang in _languages(language)
    ]
    return _env.select_template(candidates)


def render_email(template: str, language: str = DEFAULT_LANGUAGE, **context: Any) -> RenderedEmail:
    """Render the email ``template`` in ``language`` (falling back to English).

    ``context`` must hold ``support_email`` (the footer) and whatever the template uses;
    a missing variable raises ``jinja2.UndefinedError``. The subject is rendered first and
    handed to both parts as ``subject`` (the HTML part uses it as its ``<title>``).
    """
    if not _TEMPLATE_NAME.match(template):
        raise TemplateNotFound(template)
    text_template = _template(template, language, "txt")
    if "subject" not in text_template.blocks:
        raise ValueError(f"email template {text_template.name} has no subject block")
    subject_block = text_template.blocks["subject"]
    subject = header_safe("".join(subject_block(text_template.new_context(dict(context)))))
    full = {**context, "subject": subject}
    text = text_template.render(full)
    html = _template(template, language, "html").render(full)
    return RenderedEmail(subject=subject, text=text, html=html)

"""Email: templates (render), the transactional outbox (queue) and the relay that sends it.

A resolver renders an email, queues it in its own transaction and, after commit, wakes the
relay; the relay delivers with retries. Nothing here rolls a business change back.
"""

from smbselect.mail.outbox import queue_email
from smbselect.mail.relay import MailRelay
from smbselect.mail.render import RenderedEmail, header_safe, render_email

__all__ = ["MailRelay", "RenderedEmail", "header_safe", "queue_email", "render_email"]

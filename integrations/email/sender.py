"""Email senders: SMTP (aiosmtplib) in production, a log line when no SMTP is configured."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
import structlog

from integrations.email.templates import Rendered

log = structlog.get_logger(__name__)


class EmailSender(Protocol):
    """Delivers one message; `message_id` is stable per event so receivers can dedupe."""

    async def send(self, *, to: str, sender: str, message: Rendered, message_id: str) -> str:
        """Send and return the delivery status word ("sent" or "logged")."""
        ...


class SmtpSender:
    """Sends through an SMTP server."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self._host, self._port, self._timeout = host, port, timeout

    async def send(self, *, to: str, sender: str, message: Rendered, message_id: str) -> str:
        """Send a multipart text + HTML email."""
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender, to, message.subject
        msg["Message-ID"] = f"<{message_id}>"
        msg.set_content(message.text)
        msg.add_alternative(message.html, subtype="html")
        await aiosmtplib.send(msg, hostname=self._host, port=self._port, timeout=self._timeout)
        return "sent"


class LogSender:
    """No SMTP configured: write the message to the log instead of losing it silently."""

    async def send(self, *, to: str, sender: str, message: Rendered, message_id: str) -> str:
        """Log the message."""
        log.info("email (no SMTP configured)", subject=message.subject, message_id=message_id)
        return "logged"

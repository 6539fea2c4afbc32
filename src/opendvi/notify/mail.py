"""Messages to families leave as plain text only: no images, no attachments, no links to
photos. Two ways out: SMTP (settings ``OPENDVI_SMTP_*``) or, for a site without a network,
an outbox folder of ``.eml`` files that someone carries to a connected machine."""

from __future__ import annotations

import datetime as dt
import re
import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from opendvi.errors import Refused
from opendvi.infra.private import write_private

if TYPE_CHECKING:
    from opendvi.settings import Settings

__all__ = ["Outbox", "Smtp", "Transport", "plain_message", "transport_for"]

# Links to the application's pictures never go into a message.
_PICTURE_LINK = re.compile(r"/(photos|faces)/\d+|data:image/", re.IGNORECASE)


def plain_message(*, sender: str, to: str, subject: str, text: str, language: str) -> EmailMessage:
    """A text-only message: one part, no attachment, in the family's language."""
    if _PICTURE_LINK.search(text):
        raise Refused(
            "the message links to a picture; pictures are never sent to a family (they may "
            "ask to see them, with staff)"
        )
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "opendvi.local")
    message.set_content(text)
    message["Content-Language"] = language  # after: set_content clears Content-* headers
    assert not message.is_multipart()
    return message


class Transport(Protocol):
    name: str

    def deliver(self, message: EmailMessage) -> str:
        """Hand the message on; returns where it went (for the task's history)."""
        ...


class Smtp:
    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        user: str = "",
        password: str = "",
        starttls: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.starttls, self.timeout = starttls, timeout

    def deliver(self, message: EmailMessage) -> str:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as server:
            if self.starttls:
                server.starttls()
            if self.user:
                server.login(self.user, self.password)
            server.send_message(message)
        return f"sent through {self.host}:{self.port}"


class Outbox:
    name = "outbox"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def deliver(self, message: EmailMessage) -> str:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        target = self.folder / f"{stamp}.eml"
        write_private(target, bytes(message))  # a file in the outbox is always whole
        return f"written to {target}"


def transport_for(settings: Settings) -> Transport:
    """The way e-mails leave: the mail server if one is set, else the outbox folder."""
    if settings.smtp_host:
        password = settings.smtp_password
        return Smtp(
            settings.smtp_host,
            settings.smtp_port,
            user=settings.smtp_user,
            password=password.get_secret_value() if password is not None else "",
            starttls=settings.smtp_starttls,
        )
    return Outbox(settings.resolved_outbox_dir())

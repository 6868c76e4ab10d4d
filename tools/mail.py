"""Mail over SMTP with the standard library: the one-time sign-in codes go to the account's address this way.

Sending runs on one background thread, so a turn never waits on a mail server and a reply takes as long whether
or not the email belongs to an account (which only then gets a mail).
"""

from __future__ import annotations

import logging
import smtplib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    sender: str = "shop@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = 10.0


class Mailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._sending = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailer")

    def message(self, to: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        return message

    def send(self, message: EmailMessage) -> None:
        """Deliver now (raises on failure)."""
        smtp = self.settings
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds) as server:
            if smtp.starttls:
                server.starttls()
            if smtp.username:
                server.login(smtp.username, smtp.password or "")
            server.send_message(message)

    def send_soon(self, message: EmailMessage) -> Future[None]:
        """Deliver in the background; a failure is logged (the log masks the address), never raised to a turn."""
        return self._sending.submit(self._send_logged, message)

    def _send_logged(self, message: EmailMessage) -> None:
        try:
            self.send(message)
        except (OSError, smtplib.SMTPException):
            log.exception("could not send a mail to %s", message["To"])

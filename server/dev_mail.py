"""The demo's and the tests' mail server: a local SMTP sink (aiosmtpd, in-process) that keeps the mails it catches,
so a newcomer reads the sign-in code at /dev/outbox instead of needing a real mailbox."""

from __future__ import annotations

import socket
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.controller import Controller

from tools.mail import SmtpSettings

KEPT = 50  # the newest mails kept


@dataclass(frozen=True)
class CaughtMail:
    to: str
    subject: str
    body: str
    received_at: datetime


class DevOutbox:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, sender: str = "shop@localhost") -> None:
        self.host = host
        self.port = port or _free_port(host)
        self.sender = sender
        self._mails: deque[CaughtMail] = deque(maxlen=KEPT)
        self._lock = threading.Lock()
        self.caught = 0  # mails caught since start (the kept ones are only the newest)
        self._controller = Controller(self, hostname=host, port=self.port)

    def start(self) -> DevOutbox:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def smtp(self) -> SmtpSettings:
        """Where a Mailer sends to reach this sink."""
        return SmtpSettings(host=self.host, port=self.port, sender=self.sender)

    def mails(self) -> list[CaughtMail]:
        """The caught mails, newest first."""
        with self._lock:
            return list(reversed(self._mails))

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook name
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        mail = CaughtMail(to=", ".join(envelope.rcpt_tos), subject=str(parsed.get("Subject", "")),
                          body=body.get_content().replace("\r\n", "\n") if body is not None else "",
                          received_at=datetime.now(UTC))
        with self._lock:
            self._mails.append(mail)
            self.caught += 1
        return "250 Message accepted for delivery"


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]

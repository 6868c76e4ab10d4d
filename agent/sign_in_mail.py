"""The mail that carries a one-time sign-in code (its words in prompts/replies.toml)."""

from __future__ import annotations

from agent.replies import say
from tools.mail import Mailer
from tools.sign_in_codes import CodeRules


class CodeMailer:
    """Sends the code to the account's address, in the background (tools/mail.py)."""

    def __init__(self, mailer: Mailer, rules: CodeRules | None = None) -> None:
        self.mailer = mailer
        self.rules = rules or CodeRules()

    def send_code(self, to: str, code: str) -> None:
        minutes = int(self.rules.ttl.total_seconds() // 60)
        body = say("sign_in_mail_body", code=code, minutes=minutes)
        self.mailer.send_soon(self.mailer.message(to, say("sign_in_mail_subject", code=code), body))

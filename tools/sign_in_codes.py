"""One-time sign-in codes: a customer proves an account's email by typing back the code mailed to it.

A code is 6 digits, bound to the conversation that asked for it, kept only as a slow salted hash (scrypt: trying
all million codes against a leaked row takes far longer than the code lives), valid for `ttl`, for at most
`max_attempts` tries, and superseded by the next code of the same conversation. Every request leaves a row,
whether or not the email belongs to an account (then the row can never verify), so the send limit and every
answer are the same for both and nothing tells which emails have accounts. The email itself is not kept, only a
hash to count its requests by.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, Integer, String, delete, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from tools.retail.data_model import Base, User

DIGITS = 6
KEPT_FOR = timedelta(days=1)  # rows older than this are deleted when a new code is issued


@dataclass(frozen=True)
class CodeRules:
    ttl: timedelta = timedelta(minutes=10)
    max_attempts: int = 5
    sends_per_window: int = 3  # codes per email, and per conversation, within `window` (a resend is a send)
    window: timedelta = timedelta(hours=1)


class SignInCode(Base):
    __tablename__ = "sign_in_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    email_key: Mapped[str] = mapped_column(String(64), index=True)  # sha256 of the folded email
    user_id: Mapped[str | None] = mapped_column(String(128), default=None)  # None: no account has that email
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)  # used, superseded or locked


@dataclass(frozen=True)
class Issued:
    """A code to mail to `email` (only when `user_id` is an account), or throttled (no code at all)."""

    throttled: bool
    code: str | None = None
    user_id: str | None = None
    email: str | None = None


class Checked(StrEnum):
    VERIFIED = "verified"
    WRONG = "wrong"
    EXPIRED = "expired"
    LOCKED = "locked"  # too many wrong tries: a new code is needed
    NONE = "none"  # this conversation has no open code


def fold_email(email: str) -> str:
    return email.strip().casefold()


def issue(db: Session, email: str, session_id: str, rules: CodeRules, now: datetime | None = None) -> Issued:
    now = now or datetime.now(UTC)
    db.execute(delete(SignInCode).where(SignInCode.created_at < now - KEPT_FOR))
    key = hashlib.sha256(fold_email(email).encode()).hexdigest()
    if _sent_since(db, now - rules.window, SignInCode.email_key == key) >= rules.sends_per_window or \
            _sent_since(db, now - rules.window, SignInCode.session_id == session_id) >= rules.sends_per_window:
        return Issued(throttled=True)
    user = db.scalars(select(User).where(func.lower(User.email) == fold_email(email))).first()
    db.execute(update(SignInCode).where(SignInCode.session_id == session_id, SignInCode.closed.is_(False))
               .values(closed=True))  # a new code supersedes the conversation's earlier one
    code = f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"
    salt = secrets.token_hex(16)
    db.add(SignInCode(session_id=session_id, email_key=key, user_id=user.user_id if user else None, salt=salt,
                      code_hash=_hash(code, salt), created_at=now, expires_at=now + rules.ttl))
    if user is None:
        return Issued(throttled=False)
    return Issued(throttled=False, code=code, user_id=user.user_id, email=user.email)


def check(db: Session, session_id: str, code: str, rules: CodeRules,
          now: datetime | None = None) -> tuple[Checked, str | None]:
    """The verdict on a typed code, and the account it proves when VERIFIED. Each try is counted."""
    now = now or datetime.now(UTC)
    # Locked until the try is counted: concurrent guesses on PostgreSQL wait in turn instead of each counting
    # from the same number (SQLite's single writer does that by itself; FOR UPDATE is not written there).
    row = db.scalars(select(SignInCode).where(SignInCode.session_id == session_id, SignInCode.closed.is_(False))
                     .order_by(SignInCode.id.desc()).limit(1).with_for_update()).first()
    if row is None:
        return Checked.NONE, None
    if _aware(row.expires_at) < now:
        row.closed = True
        return Checked.EXPIRED, None
    row.attempts += 1
    matches = hmac.compare_digest(row.code_hash, _hash(code, row.salt))  # hashed alike for every row: same time
    if matches and row.user_id is not None:
        row.closed = True
        return Checked.VERIFIED, row.user_id
    if row.attempts >= rules.max_attempts:
        row.closed = True
        return Checked.LOCKED, None
    return Checked.WRONG, None


def _sent_since(db: Session, since: datetime, *where: object) -> int:
    return db.scalar(select(func.count()).select_from(SignInCode).where(SignInCode.created_at >= since, *where)) or 0


def _hash(code: str, salt: str) -> str:
    return hashlib.scrypt(code.encode(), salt=bytes.fromhex(salt), n=2 ** 14, r=8, p=1, dklen=32).hex()


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

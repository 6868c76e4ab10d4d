"""Signed tokens: the storefront vouches for a logged-in customer (so the chat starts authenticated), the console
for a signed-in staff member.

Format: [prefix "."] base64url(subject) "." expiry (unix seconds) "." hex HMAC-SHA256 over the parts before it.
Customer tokens have no prefix and are keyed with the shared secret; staff tokens (server/staff_tokens.py) have a
prefix and a key of their own, so neither kind ever verifies as the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


class InvalidToken(ValueError):
    pass


def sign_token(key: bytes, subject: str, *, ttl_seconds: int, prefix: str | None = None,
               now: float | None = None) -> str:
    expiry = int((now if now is not None else time.time()) + ttl_seconds)
    encoded = base64.urlsafe_b64encode(subject.encode()).decode().rstrip("=")
    payload = f"{encoded}.{expiry}" if prefix is None else f"{prefix}.{encoded}.{expiry}"
    return f"{payload}.{_signature(key, payload)}"


def verify_token(key: bytes, token: str, *, prefix: str | None = None, now: float | None = None,
                 malformed: str = "malformed token") -> str:
    """The subject the token vouches for; InvalidToken if it is malformed, forged, of another kind or expired."""
    try:
        token.encode("ascii")
        parts = token.split(".")
        *head, encoded, expiry, signature = parts
        expires_at = int(expiry)
        if len(parts) != (3 if prefix is None else 4):
            raise ValueError(token)
    except (ValueError, UnicodeEncodeError):
        raise InvalidToken(malformed) from None
    payload = ".".join([*head, encoded, expiry])
    if head != ([] if prefix is None else [prefix]) or not hmac.compare_digest(signature, _signature(key, payload)):
        raise InvalidToken("bad signature")
    if expires_at < (now if now is not None else time.time()):
        raise InvalidToken("token expired")
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except ValueError:
        raise InvalidToken("malformed token") from None


def _signature(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def sign_customer_token(secret: str, customer_id: str, *, ttl_seconds: int = 3600, now: float | None = None) -> str:
    if not customer_id:
        raise ValueError("a customer token needs a customer id")
    return sign_token(secret.encode(), customer_id, ttl_seconds=ttl_seconds, now=now)


def verify_customer_token(secret: str, token: str, *, now: float | None = None) -> str:
    """The customer id the token vouches for; InvalidToken if it is malformed, forged or expired."""
    return verify_token(secret.encode(), token, now=now)

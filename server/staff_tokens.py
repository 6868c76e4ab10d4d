"""Signed staff tokens for the copilot console, distinct from customer tokens by construction.

Format: "staff." base64url(staff_id) "." expiry "." hex HMAC-SHA256, keyed with a key derived from the shared
secret for staff tokens only: a customer token (three parts, the plain secret's key) never verifies here, and a
staff token never verifies as a customer token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from server.tokens import InvalidToken

PREFIX = "staff"
DEFAULT_TTL = 8 * 3600  # one shift


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"shopagent staff token v1", hashlib.sha256).digest()


def _signature(secret: str, payload: str) -> str:
    return hmac.new(_key(secret), payload.encode(), hashlib.sha256).hexdigest()


def sign_staff_token(secret: str, staff_id: str, *, ttl_seconds: int = DEFAULT_TTL, now: float | None = None) -> str:
    if not staff_id:
        raise ValueError("a staff token needs a staff id")
    expiry = int((now if now is not None else time.time()) + ttl_seconds)
    encoded = base64.urlsafe_b64encode(staff_id.encode()).decode().rstrip("=")
    payload = f"{PREFIX}.{encoded}.{expiry}"
    return f"{payload}.{_signature(secret, payload)}"


def verify_staff_token(secret: str, token: str, *, now: float | None = None) -> str:
    """The staff id the token vouches for; InvalidToken if it is not a valid, unexpired staff token."""
    try:
        token.encode("ascii")
        prefix, encoded, expiry, signature = token.split(".")
        expires_at = int(expiry)
    except (ValueError, UnicodeEncodeError):
        raise InvalidToken("not a staff token") from None
    if prefix != PREFIX or not hmac.compare_digest(signature, _signature(secret, f"{prefix}.{encoded}.{expiry}")):
        raise InvalidToken("bad signature")
    if expires_at < (now if now is not None else time.time()):
        raise InvalidToken("token expired")
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except ValueError:
        raise InvalidToken("malformed token") from None

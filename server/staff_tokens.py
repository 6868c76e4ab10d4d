"""Signed staff tokens for the copilot console, distinct from customer tokens by construction.

Format: "staff." base64url(staff_id) "." expiry "." hex HMAC-SHA256 (server/tokens.py), keyed with a key derived
from the staff secret (Settings.staff_secret(), never the secret shared with the storefront, so whoever holds
the storefront's secret cannot mint a staff token): a customer token (three parts, another key) never verifies
here, and a staff token never verifies as a customer token.
"""

from __future__ import annotations

import hashlib
import hmac

from server.tokens import sign_token, verify_token

PREFIX = "staff"
DEFAULT_TTL = 8 * 3600  # one shift


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"shopagent staff token v1", hashlib.sha256).digest()


def sign_staff_token(secret: str, staff_id: str, *, ttl_seconds: int = DEFAULT_TTL, now: float | None = None) -> str:
    if not staff_id:
        raise ValueError("a staff token needs a staff id")
    return sign_token(_key(secret), staff_id, ttl_seconds=ttl_seconds, prefix=PREFIX, now=now)


def verify_staff_token(secret: str, token: str, *, now: float | None = None) -> str:
    """The staff id the token vouches for; InvalidToken if it is not a valid, unexpired staff token."""
    return verify_token(_key(secret), token, prefix=PREFIX, now=now, malformed="not a staff token")

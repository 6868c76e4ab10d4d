"""Signed customer tokens: the storefront vouches for a logged-in customer, so the chat starts authenticated.

Format: base64url(customer_id) "." expiry (unix seconds) "." hex HMAC-SHA256 over the first two parts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


class InvalidToken(ValueError):
    pass


def _signature(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def sign_customer_token(secret: str, customer_id: str, *, ttl_seconds: int = 3600, now: float | None = None) -> str:
    if not customer_id:
        raise ValueError("a customer token needs a customer id")
    expiry = int((now if now is not None else time.time()) + ttl_seconds)
    encoded = base64.urlsafe_b64encode(customer_id.encode()).decode().rstrip("=")
    payload = f"{encoded}.{expiry}"
    return f"{payload}.{_signature(secret, payload)}"


def verify_customer_token(secret: str, token: str, *, now: float | None = None) -> str:
    """The customer id the token vouches for; InvalidToken if it is malformed, forged or expired."""
    try:
        token.encode("ascii")
        encoded, expiry, signature = token.split(".")
        expires_at = int(expiry)
    except (ValueError, UnicodeEncodeError):
        raise InvalidToken("malformed token") from None
    if not hmac.compare_digest(signature, _signature(secret, f"{encoded}.{expiry}")):
        raise InvalidToken("bad signature")
    if expires_at < (now if now is not None else time.time()):
        raise InvalidToken("token expired")
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except ValueError:
        raise InvalidToken("malformed token") from None

"""Web addresses a catalogue may give for a product's page and picture.

The widget puts them in a link's href and an image's src on the store's own page, so only two shapes pass:
an absolute http(s) URL with a host, or a path on the storefront ("/products/42"). Anything else (javascript:,
data:, a protocol-relative "//host", spaces or control characters) is refused at import, not at display.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

MAX_URL = 2048
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f\\]")  # a browser strips or reinterprets these: none may pass


def web_address(value: Any) -> str | None:
    """The address, stripped; None when empty; ValueError when it is neither an http(s) URL nor a site path."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if len(text) > MAX_URL:
        raise ValueError(f"must be at most {MAX_URL} characters")
    if _UNSAFE.search(text):
        raise ValueError("must not contain spaces, backslashes or control characters")
    if text.startswith("/") and not text.startswith("//"):
        return text
    parts = urlsplit(text)
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        raise ValueError("must be an http(s) URL or a path on the storefront starting with /")
    return text

"""Which script a text is written in: Chinese (Han characters) or not. Enough to pick tokenisers and rankers
per query and per document; no language-identification model is needed for the two languages served."""

from __future__ import annotations

import re

# CJK Unified Ideographs, extension A and the compatibility block: the characters of written Chinese.
HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{HAN}]")


def has_han(text: str) -> bool:
    """Whether the text holds any Chinese character ("有没有 GoPro" does; "GoPro" does not)."""
    return _HAN_RE.search(text) is not None

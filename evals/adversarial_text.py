"""Adversarial customer text for the patterns that read it: every regular expression in agent/, tools/ and
retrieval/, and inputs built to make a backtracking matcher go quadratic or worse (long runs of one or two
characters, a pattern's own words repeated, a plausible prefix followed by a long run), up to the message limit.

Shared by the property test (tests/test_patterns_linear.py: every pattern finishes) and the benchmark
(evals/pattern_benchmark.py: how long the worst case takes).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from itertools import product

MESSAGE_LIMIT = 2000  # the server's default max_message_chars
PACKAGES = ("agent", "tools", "retrieval")
SKIP_MODULES = ("agent.reader.cli", "agent.escalation.cli", "tools.logistics.cli")  # typer apps, no customer text
SKIP_PACKAGES = ("tools.migrations",)  # schema migrations: Alembic runs them; importing one outside it fails

# Characters the patterns give meaning to: digits, letters (both cases), spaces, separators, id marks, CJK.
ALPHABET = ["1", "a", "A", "W", " ", ",", ".", "-", "#", "'", "@", "_", "(", "\n", "订", "$"]
# Runs the address, id, email and name patterns are shaped like.
UNITS = ["1 a, ", "a, ", "a b ", "1a", "a1", "a.", "1.", "a@a.", "#W1", "W 1", "1 a", "1, ", "a, AB 1", "1,1",
         "a-", "Ab ", "AB ", "1 st ", "a st ", "1 a st, a, AB 11111 ", "$1 ", "1.1", "a'", "# 1"]
# Prefixes that start a match, followed by a long run that ends it badly.
PREFIXES = ["status of order #W", "order ", "#", "W", "1 ", "ending ", "my name is ", "same as order ", "bought a ",
            "how many ", "all ", "except ", "prefer ", "same ", "where ", "total ", "keep ", "it's ", "under $",
            "between 1 and ", "1 Main St, ", "12 Oak Street, Austin, TX ", "a@", "my ", "no "]


def customer_text_patterns() -> dict[str, re.Pattern[str]]:
    """Every compiled pattern at module level (alone or in a list, tuple or dict) in the packages that read
    customer text, by "module.NAME"."""
    found: dict[str, re.Pattern[str]] = {}
    for module in _modules():
        for name, value in vars(module).items():
            for index, pattern in enumerate(_patterns_in(value)):
                if pattern.pattern:
                    found.setdefault(f"{module.__name__}.{name}" + (f"[{index}]" if index else ""), pattern)
    return found


def _modules() -> Iterator[object]:
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        yield package
        for info in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            if info.name not in SKIP_MODULES and not info.name.startswith(SKIP_PACKAGES):
                yield importlib.import_module(info.name)


def _patterns_in(value: object) -> list[re.Pattern[str]]:
    if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return [p for v in value for p in ([v] if isinstance(v, re.Pattern) else list(v) if isinstance(v, tuple)
                                           else []) if isinstance(p, re.Pattern) and isinstance(p.pattern, str)]
    return []


def adversarial_inputs(pattern: re.Pattern[str] | None = None, limit: int = MESSAGE_LIMIT) -> Iterator[str]:
    """Inputs up to `limit` characters: runs of every character and pair, structured units, prefixes before a
    run, and (given a pattern) its own words repeated."""
    for a, b in product(ALPHABET, repeat=2):
        yield _fill(a if a == b else a + b, limit)
    for unit in UNITS:
        yield _fill(unit, limit)
    for prefix, run in product(PREFIXES, ["1", "a", " ", "1 ", "a ", "a,"]):
        yield prefix + _fill(run, limit - len(prefix))
    if pattern is not None:
        words = sorted(set(re.findall(r"[a-z]{2,}", pattern.pattern)))[:12]
        for word in words:
            yield _fill(word + " ", limit)
        if words:
            yield _fill(" ".join(words) + " ", limit)


def _fill(unit: str, limit: int) -> str:
    return (unit * (limit // len(unit) + 1))[:limit]


def scan(pattern: re.Pattern[str], text: str) -> int:
    """What the product does with a pattern at worst: look for every match."""
    return sum(1 for _ in pattern.finditer(text))

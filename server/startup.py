"""What the server shows while it starts: a line per step with its duration, then where to go and how to sign in.

Start-up takes tens of seconds on a small machine (the demo store, the search index, the reader, the model); a
silent terminal for that long reads as a hang, and the third-party progress bars that used to leak through
("Loading weights") said nothing a newcomer could act on.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape

STAFF_COMMAND = "shopagent escalation add-staff"


def quiet_third_party() -> None:
    """Silence the progress bars and notices of transformers, huggingface_hub and sentence-transformers.

    The environment covers libraries not imported yet (they read it at import); the calls cover those a command
    has already imported.
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    if "transformers" in sys.modules:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()


@dataclass
class Step:
    """One start-up step; the code doing it may say what it found (e.g. "built" or "loaded") in `result`."""

    doing: str
    result: str = ""


class StartupSteps:
    """Reports start-up steps on a console (a spinner while each runs, a line with its duration when done);
    with no console it reports nothing, so library callers and tests build the agent silently."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console
        self.started = time.perf_counter()

    @contextmanager
    def step(self, doing: str) -> Iterator[Step]:
        step = Step(doing)
        start = time.perf_counter()
        spinner = self.console.status(f"{doing}…") if self.console else nullcontext()
        try:
            with spinner:
                yield step
        except BaseException:
            self._line("[bold red]✗[/]", f"{doing}: failed", start)
            raise
        self._line("[green]✓[/]", step.result or doing, start)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def _line(self, mark: str, text: str, start: float) -> None:
        if self.console is not None:
            seconds = time.perf_counter() - start
            # soft_wrap: a long line (a database URL) stays one line in a narrow terminal or a piped log
            self.console.print(f"  {mark} {escape(text)} [dim]({seconds:.1f} s)[/]", highlight=False, soft_wrap=True)


def ready_lines(host: str, port: int, staff_accounts: int, *, api_docs: bool, demo: bool = False) -> list[str]:
    """The closing lines: the storefront, the console and how staff get in (the console is useless without an
    account, and the command that makes one is not where a newcomer would look)."""
    base = f"http://{_url_host(host)}:{port}"
    if staff_accounts:
        sign_in = f"sign in with a staff account ({staff_accounts} active); add one with `{STAFF_COMMAND} ID`"
    else:
        sign_in = f"no staff account yet: create one with `{STAFF_COMMAND} ID --name NAME` (it asks for a password)"
    lines = [
        f"  Storefront with the chat widget: {base}/",
        f"  Staff console: {base}/console",
        f"    {escape(sign_in)}",
    ]
    if demo:
        lines.append(f"  Demo mode: sign in as a demo customer on the storefront; sign-in codes at {base}/dev/outbox")
    if api_docs:
        lines.append(f"  API docs: {base}/docs")
    lines.append("  (Ctrl+C to stop)")
    return lines


def _url_host(host: str) -> str:
    """A browsable host: 0.0.0.0 listens everywhere but is no address to open; IPv6 needs brackets in a URL."""
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host

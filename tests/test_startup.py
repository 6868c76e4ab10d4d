"""What a newcomer sees when the server starts: a line per step, then the URLs and how staff sign in."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from server.services import safe_url
from server.startup import ready_lines

PROJECT = Path(__file__).resolve().parents[1]
STEPS = ("Store open: ", "Demo store loaded: 50 products, 500 customers, 1000 orders",
         "Search index built: 591 items", "Reader loaded", "No language model (backend none)", "Agent ready",
         "Retention: no conversation idle for more than 90 days")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(home: Path, port: int, database_url: str | None = None) -> subprocess.Popen[str]:
    """`shopagent serve` as a newcomer runs it, on a fresh home: the demo store, the index and the encoder's ONNX
    export all happen (the export is what used to print "Loading weights"). The store is the home's SQLite file
    unless a database URL is given."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SHOPAGENT_") and k not in ("HF_HUB_DISABLE_PROGRESS_BARS", "TRANSFORMERS_VERBOSITY")}
    env.update(SHOPAGENT_HOME=str(home), SHOPAGENT_BACKEND="none", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    if database_url:
        env["SHOPAGENT_DATABASE_URL"] = database_url
    return subprocess.Popen(
        [sys.executable, "-c", "from server.cli import main; main()", "serve", "--port", str(port)],
        cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def output_until(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    """Its output (stdout and stderr) up to the line holding marker; a reader thread, so a silent hang fails
    the test at the deadline instead of blocking it."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in process.stdout or ():
            lines.put(line)
        lines.put(None)  # the process closed its output: it ended

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    pytest.fail(f"no {marker!r} line within {timeout} s; the output was:\n{''.join(seen)}")


def get_status(url: str, timeout: float = 30) -> int:
    """The URL's status, retried: uvicorn starts listening a moment after the lines are printed."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as page:
                return page.status
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.slow
def test_serve_shows_each_step_and_ends_with_the_urls(tmp_path: Path, empty_database_url: str) -> None:
    """On the default store (a SQLite file in the home) and on a new PostgreSQL database, migrated at start-up."""
    on_postgres = empty_database_url.startswith("postgresql")
    port = free_port()
    process = serve(tmp_path / "home", port, empty_database_url if on_postgres else None)
    try:
        output = output_until(process, "Ctrl+C", timeout=240)
        assert get_status(f"http://127.0.0.1:{port}/console") == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
    positions = [output.find(step) for step in STEPS]
    assert -1 not in positions, output
    assert positions == sorted(positions), output  # in the order they happen
    assert f"Store open: {'postgresql+psycopg://' if on_postgres else 'sqlite:///'}" in output
    assert "Loading weights" not in output and "it/s]" not in output, output  # no third-party progress bar
    assert f"Storefront with the chat widget: http://127.0.0.1:{port}/" in output
    assert f"Staff console: http://127.0.0.1:{port}/console" in output
    assert "no staff account yet: create one with `shopagent escalation add-staff ID --name NAME`" in output


def test_ready_lines_name_the_staff_accounts_and_a_browsable_address() -> None:
    lines = "\n".join(ready_lines("0.0.0.0", 8000, 2, api_docs=True))
    assert "http://127.0.0.1:8000/console" in lines and "http://127.0.0.1:8000/docs" in lines
    assert "sign in with a staff account (2 active)" in lines and "no staff account" not in lines
    assert "http://[::1]:9000/" in "\n".join(ready_lines("::1", 9000, 0, api_docs=False))


def test_the_database_url_is_shown_without_its_password() -> None:
    shown = safe_url("postgresql+psycopg://shop:s3cret@db.internal:5432/shop")
    assert "s3cret" not in shown and "db.internal:5432/shop" in shown

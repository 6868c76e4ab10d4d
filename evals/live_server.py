"""A real `shopagent serve` in a child process on a free loopback port, for benchmarks and tests that need the whole
server (HTTP, workers, process death): start it with settings as environment variables, wait until it answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

PROJECT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(home: Path, port: int, *options: str, log: Path | None = None, **settings: str) -> subprocess.Popen[bytes]:
    """The server on `home`, flows only unless `settings` name a backend; `settings` are SHOPAGENT_* variables
    ({"IDENTITY": "benchmark"}), `options` more of `serve`'s ("--workers", "2"), `log` a file for its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPAGENT_")}
    env.update(SHOPAGENT_HOME=str(home), SHOPAGENT_BACKEND="none", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               PYTHONPATH=str(PROJECT))
    env.update({f"SHOPAGENT_{name}": value for name, value in settings.items()})
    output = log.open("ab") if log is not None else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port), *options], cwd=PROJECT,
                            env=env, stdout=output, stderr=subprocess.STDOUT if log is not None else output)


def wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 300, *, path: str = "/healthz") -> None:
    """Until `process` answers 200 at `base` + `path` (a model server: "/models"); raises if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}{path}", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.5)
    raise RuntimeError(f"the server did not start within {timeout} s (exit code {process.poll()})")

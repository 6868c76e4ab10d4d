"""Concurrent customers against a real `shopagent serve` on loopback: N sessions at once, each signed in by the
storefront's token and sending a search, an order status and a follow-up back to back (evals/data/load/), each
session from its own client address (127.0.x.y: the rate limit and the peer address see N customers).

Clients honour `Retry-After` on 429 / 503 and retry until the run's deadline; a retried turn's time is its whole
wait, and a turn that has no answer by the deadline is a failure. Per run: completions, every status code seen,
p50 / p95 turn time (overall and per kind of message), throughput (answered turns per second of the run)."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import time
import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from evals.latency_benchmark import percentile
from evals.live_server import free_port, serve, wait_ready

MESSAGES = Path(__file__).resolve().parent / "data" / "load" / "messages.toml"
TOKEN_SECRET = "load-benchmark-secret"  # the server under test is started with it, so clients can sign in
KINDS = ("search", "status", "follow_up")


@dataclass
class SessionResult:
    opened: TurnResult  # opening the session (its codes count; its time is not a turn's)
    turns: list[TurnResult]


@dataclass(frozen=True)
class Script:
    address: str  # the client's own loopback address
    token: str
    turns: tuple[tuple[str, str], ...]  # (kind, text)


@dataclass
class TurnResult:
    kind: str
    seconds: float = 0.0
    answered: bool = False  # 200 and a stream that ended with `done`, within the run
    codes: list[int] = field(default_factory=list)  # every status the turn got, retries included
    error_event: bool = False  # answered, but with an apology for a failure (model, tool, budget)
    failure: str = ""


def client_address(index: int) -> str:
    """A distinct loopback address per client (Linux routes all of 127.0.0.0/8 to lo): 127.0.1.1, 127.0.1.2, ..."""
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


def scripts(sessions: int, seed: int) -> list[Script]:
    """`sessions` customers with an order each, drawn with `seed`, and their three messages."""
    from server.tokens import sign_customer_token
    from tools.retail.loader import DEMO_STORE_JSON

    texts = tomllib.loads(MESSAGES.read_text())
    users = json.loads(DEMO_STORE_JSON.read_text())["users"]
    rng = random.Random(seed)
    customers = rng.sample(sorted(uid for uid, user in users.items() if user["orders"]), sessions)
    made = []
    for index, customer in enumerate(customers):
        order = rng.choice(users[customer]["orders"])
        turns = (("search", rng.choice(texts["searches"])),
                 ("status", rng.choice(texts["statuses"]).format(order=order)),
                 ("follow_up", rng.choice(texts["follow_ups"])))
        made.append(Script(client_address(index), sign_customer_token(TOKEN_SECRET, customer, ttl_seconds=7200),
                           turns))
    return made


# ---------------------------------------------------------------------------------- the clients


def run_sessions(base: str, sessions: list[Script], deadline_s: float) -> tuple[list[SessionResult], float]:
    """All sessions at once; every session's results, and the run's wall time."""
    started = time.monotonic()
    results = asyncio.run(_all(base, sessions, started + deadline_s))
    return results, time.monotonic() - started


async def _all(base: str, sessions: list[Script], deadline: float) -> list[SessionResult]:
    return list(await asyncio.gather(*(_session(base, script, deadline) for script in sessions)))


async def _session(base: str, script: Script, deadline: float) -> SessionResult:
    transport = httpx.AsyncHTTPTransport(local_address=script.address)
    timeout = httpx.Timeout(60.0, connect=10.0)
    async with httpx.AsyncClient(base_url=base, transport=transport, timeout=timeout) as client:
        opened = TurnResult("open")
        session_id = await _open(client, script.token, deadline, opened)
        if session_id is None:
            return SessionResult(opened, [TurnResult(kind, failure=f"no session ({opened.failure})")
                                          for kind, _ in script.turns])
        return SessionResult(opened, [await _turn(client, session_id, kind, text, deadline)
                                      for kind, text in script.turns])


async def _open(client: httpx.AsyncClient, token: str, deadline: float, result: TurnResult) -> str | None:
    while True:
        response = await client.post("/api/sessions", json={"token": token})
        result.codes.append(response.status_code)
        if response.status_code == 201:
            return response.json()["session_id"]
        if not await _waited(response, deadline, result):
            return None


async def _turn(client: httpx.AsyncClient, session_id: str, kind: str, text: str, deadline: float) -> TurnResult:
    result = TurnResult(kind)
    started = time.monotonic()
    try:
        await _until_answered(client, f"/api/sessions/{session_id}/messages", text, deadline, result)
    except httpx.HTTPError as error:
        result.failure = f"transport: {type(error).__name__}"
    result.seconds = time.monotonic() - started
    return result


async def _until_answered(client: httpx.AsyncClient, path: str, text: str, deadline: float,
                          result: TurnResult) -> None:
    while True:
        async with client.stream("POST", path, json={"text": text}) as response:
            result.codes.append(response.status_code)
            if response.status_code == 200:
                events = [line.removeprefix("event:").strip() async for line in response.aiter_lines()
                          if line.startswith("event:")]
                result.error_event = "error" in events
                result.answered = "done" in events and time.monotonic() <= deadline
                result.failure = "" if result.answered else "no answer within the run"
                return
            await response.aread()
        if not await _waited(response, deadline, result):
            return


async def _waited(response: httpx.Response, deadline: float, result: TurnResult) -> bool:
    """Sleep the Retry-After of a 429 / 503 and say to try again; False (a failure) if the run would be over."""
    retry_after = response.headers.get("retry-after")
    if response.status_code not in (429, 503) or retry_after is None:
        result.failure = f"status {response.status_code}"
        return False
    wait = float(retry_after)
    if time.monotonic() + wait > deadline:
        result.failure = f"status {response.status_code}, no time left to retry"
        return False
    await asyncio.sleep(wait)
    return True


# ---------------------------------------------------------------------------------- the figures


def summarise(sessions: list[SessionResult], wall_s: float) -> dict[str, Any]:
    results = [turn for session in sessions for turn in session.turns]
    answered = [r for r in results if r.answered]
    seconds = [r.seconds for r in answered] or [0.0]
    summary: dict[str, Any] = {
        "sessions": len(sessions), "sessions_completed": sum(all(r.answered for r in s.turns) for s in sessions),
        "session_codes": _codes(s.opened for s in sessions),
        "turns": len(results), "turns_answered": len(answered), "failures": len(results) - len(answered),
        "turns_with_error_event": sum(r.error_event for r in answered),
        "retries": sum(max(0, len(r.codes) - 1) for r in results),
        "status_codes": _codes(results),
        "p50_s": percentile(seconds, 50), "p95_s": percentile(seconds, 95), "max_s": max(seconds),
        "throughput_turns_s": len(answered) / wall_s if wall_s > 0 else 0.0, "wall_s": wall_s,
        "failure_reasons": dict(Counter(r.failure for r in results if r.failure)),
    }
    for kind in KINDS:
        kind_seconds = [r.seconds for r in answered if r.kind == kind] or [0.0]
        summary[f"{kind}_p50_s"] = percentile(kind_seconds, 50)
        summary[f"{kind}_p95_s"] = percentile(kind_seconds, 95)
    return summary


def _codes(results: Iterable[TurnResult]) -> dict[str, int]:
    counted = Counter(code for r in results for code in r.codes)
    return {str(code): count for code, count in sorted(counted.items())}


# ---------------------------------------------------------------------------------- the server under test


@dataclass(frozen=True)
class ServerSetup:
    """What runs the agent: `workers` server processes (`shopagent serve --workers`), the model in-process
    (`inprocess`), as a `llama_cpp.server` of its own (`server`) or none (`none`: the flows alone)."""

    workers: int = 1
    model: str = "inprocess"
    database_url: str | None = None
    threads: int = 2
    settings: tuple[tuple[str, str], ...] = ()  # more SHOPAGENT_* settings of the server: (("TURN_WORKERS", "3"),)

    @property
    def label(self) -> str:
        return f"{self.workers}w-{self.model}"


@contextmanager
def running(setup: ServerSetup, home: Path, log: Path | None = None) -> Iterator[str]:
    """The server under test on a free loopback port (and its model server, if any); yields its base URL."""
    settings = {"TOKEN_SECRET": TOKEN_SECRET, "THREADS": str(setup.threads), **dict(setup.settings)}
    if setup.database_url:
        settings["DATABASE_URL"] = setup.database_url
    with _model_backend(setup, home, log) as backend:
        settings.update(backend)
        port = free_port()
        args = ("--workers", str(setup.workers)) if setup.workers > 1 else ()
        server = serve(home, port, *args, log=log, **settings)
        try:
            wait_ready(f"http://127.0.0.1:{port}", server)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(server)


@contextmanager
def _model_backend(setup: ServerSetup, home: Path, log: Path | None) -> Iterator[dict[str, str]]:
    if setup.model == "none":
        yield {"BACKEND": "none"}
    elif setup.model == "inprocess":
        yield {"BACKEND": "llama_cpp"}
    elif setup.model == "server":
        with _model_server(home, setup.threads, log) as url:
            yield {"BACKEND": "langchain", "MODEL_URL": url}
    else:
        raise ValueError(f"model must be inprocess, server or none, not {setup.model!r}")


@contextmanager
def _model_server(home: Path, threads: int, log: Path | None) -> Iterator[str]:
    from server.config import Settings
    from server.model_server import model_url, server_command

    port = free_port()
    output = log.open("ab") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(server_command(Settings(home=home, threads=threads), "127.0.0.1", port),
                               stdout=output, stderr=subprocess.STDOUT if log is not None else output)
    url = model_url("127.0.0.1", port)
    try:
        wait_ready(url, process, 180, path="/models")
        yield url
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def measure(setup: ServerSetup, sizes: list[int], home: Path, seed: int, deadline_s: float,
            log: Path | None = None) -> list[dict[str, Any]]:
    """One server per setup, every size run on it in turn (each with fresh sessions and addresses)."""
    summaries = []
    with running(setup, home, log) as base:
        for size in sizes:
            sessions, wall = run_sessions(base, scripts(size, seed), deadline_s)
            described = {"setup": setup.label, "workers": setup.workers, "model": setup.model,
                         "database": "configured" if setup.database_url else "sqlite",  # a URL may hold a password
                         "settings": dict(setup.settings)}
            summaries.append({**described, **summarise(sessions, wall)})
            time.sleep(1.0)  # the last turns' bookkeeping settles before the next size starts
    return summaries

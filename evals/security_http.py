"""HTTP attacks on the real app (FastAPI, in process, on a real SQLite store): each returns the problems it found
(none: the attack was held). The same bodies and limits as tests/test_hardening.py, which imports them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

MALFORMED_BODIES = (b'{"text": NaN}', b'{"text": Infinity}', b'{"text": "hi"', b"not json", b"[1, 2")
SECRET_TEXT = "my card number is 4111 1111 1111 1111 " + "x" * 2000  # over the 2000-character limit
PASSWORD = "correct horse battery"
TOKEN_SECRET = "security-eval-secret"

Attack = Callable[["Target"], list[str]]


class Target:
    """The app to attack: `serve(**settings changes)` gives a TestClient on a fresh app over the same store."""

    def __init__(self, home: Path, agent: Any) -> None:
        from server.config import Settings

        self.agent = agent
        self.settings = Settings(home=home, database_url=agent.store.url, backend="none", token_secret=TOKEN_SECRET,
                                 rate_limit_per_minute=1000)

    @contextmanager
    def serve(self, **changes: Any) -> Iterator[TestClient]:
        from server.app import create_app

        with TestClient(create_app(self.settings.model_copy(update=changes), agent=self.agent)) as client:
            yield client

    def sessions(self) -> int:
        from agent.memory import ChatSession

        with self.agent.store.session() as db:
            return db.scalar(select(func.count()).select_from(ChatSession)) or 0


def _session(client: TestClient) -> str:
    return client.post("/api/sessions", json={}).json()["session_id"]


def malformed_json(target: Target) -> list[str]:
    with target.serve() as client:
        session_id = _session(client)
        responses = [client.post(f"/api/sessions/{session_id}/messages", content=body,
                                 headers={"content-type": "application/json"}) for body in MALFORMED_BODIES]
    return [f"{body!r} → {r.status_code}" for body, r in zip(MALFORMED_BODIES, responses, strict=True)
            if r.status_code != 422 or not r.json().get("detail")]


def oversize(target: Target) -> list[str]:
    with target.serve() as client:
        session_id = _session(client)
        big = client.post(f"/api/sessions/{session_id}/messages", content=b"x" * 20_000,
                          headers={"content-type": "application/json"})
        long = client.post(f"/api/sessions/{session_id}/messages", json={"text": SECRET_TEXT})
    problems = [] if big.status_code == 413 else [f"a 20 kB body → {big.status_code}"]
    if long.status_code != 422 or "4111" in long.text:
        problems.append(f"an over-long text → {long.status_code}, echoed: {'4111' in long.text}")
    return problems


def forwarded_for_rotation(target: Target) -> list[str]:
    with target.serve(rate_limit_per_minute=2) as client:
        codes = [client.post("/api/sessions", json={}, headers={"x-forwarded-for": f"9.9.9.{n}"}).status_code
                 for n in range(4)]
    return [] if codes[2:] == [429, 429] else [f"rotating X-Forwarded-For → {codes}"]


def sign_in_guessing(target: Target) -> list[str]:
    _staff(target)
    problems = []
    with target.serve(login_failures_per_account=3, trusted_proxies=["testclient"]) as client:
        for n in range(3):
            _login(client, "dana", f"guess{n}", f"8.8.8.{n}")
        if _login(client, "dana", PASSWORD, "8.8.8.200").status_code != 429:
            problems.append("guessing one account from rotating addresses was not throttled")
    with target.serve(login_failures_per_address=3, trusted_proxies=["testclient"]) as client:
        for n in range(3):
            _login(client, f"nobody{n}", "guess", "6.6.6.6")
        if _login(client, "lee", PASSWORD, "6.6.6.6").status_code != 429:
            problems.append("guessing many accounts from one address was not throttled")
    return problems


def forged_tokens(target: Target) -> list[str]:
    from server.staff_tokens import sign_staff_token
    from server.tokens import sign_customer_token

    problems = []
    before = target.sessions()
    with target.serve() as client:
        tokens = {"garbage": "not-a-token", "another secret": sign_customer_token("guessed", "noah_brown_6181"),
                  "expired": sign_customer_token(TOKEN_SECRET, "noah_brown_6181", now=time.time() - 86_400)}
        for name, token in tokens.items():
            if (code := client.post("/api/sessions", json={"token": token}).status_code) != 401:
                problems.append(f"a {name} customer token → {code}")
        staff = sign_staff_token(target.settings.secret(), "dana")  # the storefront's secret, not the staff one
        if (code := client.get("/api/console/me", headers={"Authorization": f"Bearer {staff}"}).status_code) != 401:
            problems.append(f"a staff token signed with the customer secret → {code}")
    if target.sessions() != before:
        problems.append("a refused token created a session")
    return problems


def unknown_sessions(target: Target) -> list[str]:
    with target.serve() as client:
        codes = [client.get("/api/sessions/no-such-session/messages").status_code,
                 client.post("/api/sessions/no-such-session/messages", json={"text": "hi"}).status_code,
                 client.get("/api/sessions/..%2F..%2Fetc%2Fpasswd/messages").status_code]
    return [] if all(code == 404 for code in codes) else [f"unknown or crafted session ids → {codes}"]


def framing_headers(target: Target) -> list[str]:
    problems = []
    with target.serve() as client:
        for path in ("/", "/console", "/widget.js", "/nope"):
            headers = client.get(path).headers
            if headers.get("x-frame-options") != "DENY" or "frame-ancestors 'none'" not in headers.get(
                    "content-security-policy", ""):
                problems.append(f"{path} can be framed")
    return problems


def cors(target: Target) -> list[str]:
    with target.serve() as client:
        preflight = client.options("/api/sessions", headers={"Origin": "https://evil.example",
                                                             "Access-Control-Request-Method": "POST"})
        post = client.post("/api/sessions", json={}, headers={"Origin": "https://evil.example"})
    allowed = [r for r in (preflight, post) if "access-control-allow-origin" in r.headers]
    return ["another origin is allowed"] if allowed else []


ATTACKS: dict[str, Attack] = {
    "malformed JSON and NaN": malformed_json,
    "oversize bodies": oversize,
    "X-Forwarded-For rotation against the rate limit": forwarded_for_rotation,
    "console sign-in guessing": sign_in_guessing,
    "forged and expired tokens": forged_tokens,
    "unknown and crafted session ids": unknown_sessions,
    "framing headers": framing_headers,
    "CORS from another origin": cors,
}


def _staff(target: Target) -> None:
    from agent.escalation.staff import StaffDirectory

    staff = StaffDirectory(target.agent.store)
    for staff_id, name in (("dana", "Dana"), ("lee", "Lee")):
        if staff.get(staff_id) is None:
            staff.add(staff_id, PASSWORD, name)


def _login(client: TestClient, staff_id: str, password: str, address: str) -> Any:
    return client.post("/api/console/login", json={"staff_id": staff_id, "password": password},
                       headers={"x-forwarded-for": address})

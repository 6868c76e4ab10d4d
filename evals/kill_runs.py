"""kill -9 runs of a confirmed action: a scenario (evals/data/security/kill_scenarios.toml) reaches its proposal,
the customer's yes runs in a child process armed to SIGKILL itself at one fault point (tools/faults.py), then a
restarted agent on the same database continues the conversation as a client would (the yes sent again if it got
no reply). A run holds when the action happened exactly once (one audit entry, one receipt, the order as that
entry left it) and every message the customer sent is in the transcript.

The child: `python -m evals.kill_runs DATABASE_URL SESSION_ID TEXT` (SHOPAGENT_FAULT_POINT in its environment)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tools.receipts import ActionReceipt
from tools.retail.data_model import AuditEntry, Order
from tools.retail.views import order_view
from tools.store import Store, sqlite_url

SCENARIOS = Path(__file__).parent / "data" / "security" / "kill_scenarios.toml"
PROJECT = Path(__file__).resolve().parents[1]
CHILD_TIMEOUT_S = 120


@dataclass(frozen=True)
class Scenario:
    name: str
    tool: str
    order_id: str
    messages: list[str]


@dataclass
class KillRun:
    scenario: str
    point: str
    killed: bool = False  # the child died of SIGKILL at the point
    effects: int = 0  # audit entries of the action in this conversation
    receipts: int = 0
    order_as_audited: bool = False  # the order is as the action's audit entry left it
    lost: list[str] = field(default_factory=list)  # messages the customer sent that the transcript lacks
    replayed: bool = False  # the client sent the yes again after the restart
    reply: str = ""  # the last reply the customer got

    @property
    def held(self) -> bool:
        return self.killed and self.effects == 1 and self.receipts == 1 and self.order_as_audited and not self.lost


def load_scenarios(path: Path = SCENARIOS) -> list[Scenario]:
    return [Scenario(**row) for row in tomllib.loads(path.read_text())["scenario"]]


def run_point(template: Path, workdir: Path, scenario: Scenario, point: str) -> KillRun:
    """One run on a fresh copy of the store file `template` (a loaded demo store, WAL folded in)."""
    database = workdir / "store.db"
    shutil.copy(template, database)
    url = sqlite_url(database)
    session_id, sent = _propose(url, scenario)
    sent.append("yes")
    run = KillRun(scenario.name, point)
    run.killed = _yes_in_child(url, session_id, "yes", point) == -9
    run.replayed, run.reply = _continue(url, session_id, sent)
    _check(url, session_id, scenario, sent, run)
    return run


def _agent(url: str):  # type: ignore[no-untyped-def]
    from agent.manager import Agent  # the heavy import, once per process
    from tools.context import IdentityPolicy

    return Agent(Store(url), identity=IdentityPolicy.BENCHMARK)  # the scenarios sign in by email (tau2's rule)


def _propose(url: str, scenario: Scenario) -> tuple[str, list[str]]:
    agent = _agent(url)
    try:
        session, _ = agent.open_session()
        for text in scenario.messages:
            events = list(agent.turn(session.id, text))
        if not any(e.type == "confirmation" and e.data["action"] == scenario.tool for e in events):
            raise RuntimeError(f"scenario {scenario.name!r} did not reach its proposal")
        return session.id, list(scenario.messages)
    finally:
        agent.store.dispose()


def _yes_in_child(url: str, session_id: str, text: str, point: str) -> int:
    env = {**os.environ, "SHOPAGENT_FAULT_POINT": point, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONPATH": str(PROJECT)}  # this checkout, whatever is installed
    child = subprocess.run([sys.executable, "-m", "evals.kill_runs", url, session_id, text], cwd=PROJECT, env=env,
                           capture_output=True, timeout=CHILD_TIMEOUT_S, check=False)
    return child.returncode


def _continue(url: str, session_id: str, sent: list[str]) -> tuple[bool, str]:
    """The restarted agent: the client re-sends its last message when the transcript has no reply to it."""
    agent = _agent(url)
    try:
        history = agent.history(session_id)
        replay = history[-1]["role"] == "user"
        if replay:
            sent.append(history[-1]["text"])
            list(agent.turn(session_id, history[-1]["text"]))
            history = agent.history(session_id)
        return replay, history[-1]["text"]
    finally:
        agent.store.dispose()


def _check(url: str, session_id: str, scenario: Scenario, sent: list[str], run: KillRun) -> None:
    store = Store(url)
    try:
        with store.session() as db:
            entries = list(db.scalars(select(AuditEntry).where(AuditEntry.session_id == session_id,
                                                                 AuditEntry.action == scenario.tool)))
            run.effects = len(entries)
            run.receipts = db.scalar(select(func.count()).select_from(ActionReceipt)
                                     .where(ActionReceipt.audit_id.in_([e.id for e in entries]))) or 0
            order = db.get(Order, scenario.order_id)
            run.order_as_audited = bool(entries) and _same(order_view(order), entries[-1].after or {})
        from agent.memory import ConversationStore

        stored = [row.text for row in ConversationStore(store).messages(session_id, roles=("user",))]
        run.lost = list((Counter(sent) - Counter(stored)).elements())
    finally:
        store.dispose()


def _same(view: dict[str, Any], audited: dict[str, Any]) -> bool:
    """The order now equals its audited after-state (compared as the audit log stores it, in JSON)."""
    return json.loads(json.dumps(view, default=str)) == json.loads(json.dumps(audited, default=str))


def _child(url: str, session_id: str, text: str) -> None:
    agent = _agent(url)
    for _ in agent.turn(session_id, text):
        pass


if __name__ == "__main__":
    _child(*sys.argv[1:4])

"""Security: adversarial conversations (evals/data/security/conversations.toml), HTTP attacks on the real app
(evals/security_http.py) and kill -9 fault injection in confirmed actions (evals/kill_runs.py), each reported as
held / failed per category. Seeded: the kill runs' scenarios are drawn with --seed; the rest is deterministic.
--option kill_runs=N (default 30, 6 with --quick) spreads N runs over the fault points."""

from __future__ import annotations

import random
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from evals.base import EvalResult, Evaluator, Metric
from evals.plots import bar_chart

KILL_RUNS = 30


class SecurityEvaluator(Evaluator):
    name = "security"
    title = "Security: adversarial conversations, HTTP attacks, kill -9 fault injection"
    requires = ()

    def evaluate(self, out_dir: Path) -> EvalResult:
        with tempfile.TemporaryDirectory() as workdir:
            work = Path(workdir)
            template = _demo_store(work / "template.db")
            conversations = _conversations(template, work)
            http = _http(template, work)
            kills = self._kills(template, work)
            health = {} if self.config.options.get("health") == "off" else _health(work / "health")
        rows = [*conversations, *http, *kills]
        categories = _by_category(rows)
        bar_chart({name: c["held"] / c["cases"] for name, c in categories.items()},
                  "Attacks held, by category", out_dir / "held.png", ylabel="held")
        kill_rows = [r for r in rows if r["suite"] == "kill -9"]
        metrics = {
            "held_rate": Metric(sum(r["held"] for r in rows) / len(rows), tolerance=0.0,
                                description="attacks and fault runs held, all categories"),
            "failed": Metric(sum(not r["held"] for r in rows), better="lower"),
            "conversations_held_rate": Metric(_rate(conversations)),
            "http_held_rate": Metric(_rate(http)),
            "kill_exactly_once_rate": Metric(_rate(kill_rows), description="kill -9 runs with exactly one effect"),
            "kill_lost_messages": Metric(sum(r["lost"] for r in kill_rows), better="lower"),
            "kill_double_effects": Metric(sum(r["effects"] > 1 for r in kill_rows), better="lower"),
            **({"healthz_p95_ms": Metric(health["healthz_p95_ms"], better="lower", tolerance=50.0,
                                         description="/healthz while 8 adversarial turns run (target ≤ 100 ms)")}
               if health else {}),
            **({"adversarial_turn_max_s": Metric(health["adversarial_turn_max_s"], better="lower", tolerance=5.0,
                                                 description="the longest adversarial turn (budget 30 s)")}
               if health else {}),
        }
        markdown = _markdown(categories, rows) + _health_markdown(health)
        return EvalResult(metrics=metrics, markdown=markdown, plots=["held.png"],
                          details={"categories": categories, "cases": rows, "health": health})

    def _kills(self, template: Path, work: Path) -> list[dict[str, Any]]:
        from evals.kill_runs import load_scenarios, run_point
        from tools.faults import POINTS

        count = int(self.config.options.get("kill_runs", 6 if self.config.quick else KILL_RUNS))
        scenarios = load_scenarios()
        draw = random.Random(self.config.seed)
        rows = []
        for n in range(count):
            point, scenario = POINTS[n % len(POINTS)], draw.choice(scenarios)
            run_dir = work / f"kill-{n}"
            run_dir.mkdir()
            run = run_point(template, run_dir, scenario, point)
            problems = _kill_problems(run)
            rows.append({"suite": "kill -9", "category": f"kill -9 at {point}", "case": scenario.name,
                         "held": run.held, "problems": problems, "effects": run.effects, "lost": len(run.lost)})
        return rows


def _health(home: Path) -> dict[str, float]:
    from evals.health_under_load import measure

    return measure(home)


def _health_markdown(health: dict[str, float]) -> str:
    if not health:
        return ""
    return (f"\n\n## /healthz under adversarial turns\n\nA real `shopagent serve` (flows only, loopback), 8 sessions "
            f"sending long adversarial messages back to back ({health['adversarial_turns_done']} sent, "
            f"{health['adversarial_turns_answered']} answered, the longest in {health['adversarial_turn_max_s']:.1f} s "
            f"against a 30 s budget), /healthz polled every 50 ms: p50 "
            f"{health['healthz_p50_ms']:.0f} ms, **p95 {health['healthz_p95_ms']:.0f} ms** over "
            f"{health['healthz_polls']} polls (target ≤ 100 ms).")


def _demo_store(path: Path) -> Path:
    from sqlalchemy import text

    from tools.retail.loader import load_store
    from tools.store import Store, sqlite_url

    store = Store(sqlite_url(path))
    try:
        load_store(store)
        with store.engine.connect() as connection:  # the WAL folded in: copying the file copies everything
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    finally:
        store.dispose()
    return path


def _conversations(template: Path, work: Path) -> list[dict[str, Any]]:
    from evals.security_conversations import load_conversations, run_conversation

    rows = []
    for conversation in load_conversations():
        run = run_conversation(template, work, conversation)
        rows.append({"suite": "conversations", "category": conversation.category, "case": conversation.id,
                     "held": run.held, "problems": run.problems})
    return rows


def _http(template: Path, work: Path) -> list[dict[str, Any]]:
    import shutil

    from agent.manager import Agent
    from evals.security_http import ATTACKS, Target
    from tools.store import Store, sqlite_url

    database = work / "http.db"
    shutil.copy(template, database)
    store = Store(sqlite_url(database))
    try:
        target = Target(work, Agent(store))
        rows = []
        for name, attack in ATTACKS.items():
            problems = attack(target)
            rows.append({"suite": "http", "category": "http", "case": name, "held": not problems,
                         "problems": problems})
        return rows
    finally:
        store.dispose()


def _kill_problems(run: Any) -> list[str]:
    problems = [] if run.killed else ["the child was not killed at the point"]
    if run.effects != 1 or run.receipts != 1:
        problems.append(f"{run.effects} effects, {run.receipts} receipts")
    if not run.order_as_audited:
        problems.append("the order is not as its audit entry left it")
    problems += [f"lost message {text!r}" for text in run.lost]
    return problems


def _rate(rows: list[dict[str, Any]]) -> float:
    return sum(r["held"] for r in rows) / len(rows) if rows else 0.0


def _by_category(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    categories: dict[str, dict[str, int]] = defaultdict(lambda: {"cases": 0, "held": 0, "failed": 0})
    for row in rows:
        figures = categories[row["category"]]
        figures["cases"] += 1
        figures["held" if row["held"] else "failed"] += 1
    return dict(categories)


def _markdown(categories: dict[str, dict[str, int]], rows: list[dict[str, Any]]) -> str:
    lines = ["Adversarial conversations run through the real agent (flows only, no model) on a fresh copy of the "
             "demo store each; HTTP attacks on the real app in process; kill -9 runs: the yes of a confirmed "
             "action in a child process that SIGKILLs itself at the fault point, then a restarted agent continues "
             "(the yes sent again if it got no reply). Held: no other customer's data, no internals, no change "
             "that was not due; for kill runs exactly one effect (audit entry + receipt) and no lost message.", "",
             "| category | cases | held | failed |", "|---|---|---|---|"]
    lines += [f"| {name} | {c['cases']} | {c['held']} | {c['failed']} |" for name, c in categories.items()]
    failed = [r for r in rows if not r["held"]]
    lines += ["", "Failed cases:" if failed else "No case failed."]
    lines += [f"- {r['category']} / {r['case']}: {'; '.join(r['problems'])}" for r in failed]
    return "\n".join(lines)


EVALUATOR = SecurityEvaluator

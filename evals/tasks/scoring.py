"""Aggregate task runs into the suite's figures, and write the failures with their transcripts."""

from __future__ import annotations

from collections import defaultdict
from math import comb
from pathlib import Path
from statistics import mean, median

from agent.privacy import mask_text, mask_value
from evals.tasks.runner import TaskRun


def pass_hat_k(runs: list[TaskRun], k: int) -> float:
    """tau2's pass^k: per task, the chance that k runs drawn from its n runs all pass; averaged over tasks."""
    by_task: dict[str, list[bool]] = defaultdict(list)
    for run in runs:
        by_task[run.task_id].append(run.passed)
    scores = [comb(sum(results), k) / comb(len(results), k) for results in by_task.values() if len(results) >= k]
    return mean(scores) if scores else 0.0


def by_half(runs: list[TaskRun], halves: dict[str, str]) -> dict[str, list[TaskRun]]:
    """The runs of each half of the split (task id -> half), in the split's order of halves; empty halves left out."""
    grouped: dict[str, list[TaskRun]] = {half: [] for half in dict.fromkeys(halves.values())}
    for run in runs:
        if run.task_id in halves:
            grouped[halves[run.task_id]].append(run)
    return {half: half_runs for half, half_runs in grouped.items() if half_runs}


def headline(runs: list[TaskRun], runs_per_task: int) -> dict[str, float]:
    """The figures reported for all tasks and for each half: pass, DB equal, outputs said, pass^k for each k."""
    figures = summary(runs)
    return {"pass_rate": figures["pass_rate"], "db_match_rate": figures["db_match_rate"],
            "outputs_rate": figures["outputs_rate"],
            **{f"pass^{k}": pass_hat_k(runs, k) for k in range(1, runs_per_task + 1)}}


def pass_rate_by_wording(runs: list[TaskRun]) -> dict[int, float]:
    """The pass rate of each wording of the customer (0 plain, i > 0 the i-th paraphrase) over its runs."""
    grouped: dict[int, list[bool]] = defaultdict(list)
    for run in runs:
        grouped[run.paraphrase].append(run.passed)
    return {index: mean(results) for index, results in sorted(grouped.items())}


def summary(runs: list[TaskRun]) -> dict[str, float]:
    n = len(runs) or 1
    return {
        "pass_rate": sum(r.passed for r in runs) / n,
        "db_match_rate": sum(r.db_match for r in runs) / n,
        "outputs_rate": sum(not r.outputs_missing for r in runs) / n,
        "policy_refusals_per_task": sum(r.count("policy") for r in runs) / n,
        "invalid_calls_per_task": sum(r.count("invalid") for r in runs) / n,
        "failed_calls_per_task": sum(r.count("failed") for r in runs) / n,
        "turns_per_task": mean(r.turns for r in runs) if runs else 0.0,
        "seconds_per_task": mean(r.seconds for r in runs) if runs else 0.0,
        "seconds_per_task_median": median(r.seconds for r in runs) if runs else 0.0,
        "agent_errors": sum(r.error is not None for r in runs),
    }


def task_table(runs: list[TaskRun]) -> str:
    lines = ["| task | seed | wording | pass | DB | outputs | turns | calls (policy / invalid / failed) | time (s) | "
             "ended |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        outputs = f"{len(r.outputs_found)}/{len(r.outputs_found) + len(r.outputs_missing)}"
        calls = f"{len(r.tool_calls)} ({r.count('policy')} / {r.count('invalid')} / {r.count('failed')})"
        lines.append(f"| {r.task_id} | {r.seed} | {r.paraphrase} | {'✅' if r.passed else '❌'} | "
                     f"{'=' if r.db_match else '≠'} | {outputs} | {r.turns} | {calls} | {r.seconds:.1f} | "
                     f"{r.ended_by} |")
    return "\n".join(lines)


def write_failures(runs: list[TaskRun], path: Path) -> int:
    """failures.md: each failed run with why (fields that differ, outputs not said) and its transcript, the
    customers' emails, addresses and payment ids masked (agent/privacy): a report is shared, a store is not."""
    failed = [r for r in runs if not r.passed]
    lines = ["# Failed tasks", "", f"{len(failed)} of {len(runs)} runs failed.", ""]
    for r in failed:
        wording = f", paraphrase {r.paraphrase}" if r.paraphrase else ""
        lines += [f"## Task {r.task_id} (seed {r.seed}{wording})", ""]
        if r.error:
            lines += [f"- agent error: `{mask_text(r.error)}`"]
        lines += [f"- database differs: `{mask_text(d)}`" for d in r.differences]
        lines += [f"- not said: `{o}`" for o in r.outputs_missing]
        refused = [c for c in r.tool_calls if c.kind != "ok"]
        lines += [f"- {c.kind} call `{c.name}({_args(mask_value(c.arguments))})`: {mask_text(c.error or '')}"
                  for c in refused]
        lines += ["", "<details><summary>transcript</summary>", ""]
        for speaker, text in r.transcript:
            lines.append(f"**{speaker}:** " + mask_text(text).replace("\n", "  \n"))
            lines.append("")
        lines += ["</details>", ""]
    path.write_text("\n".join(lines))
    return len(failed)


def _args(arguments: dict) -> str:  # type: ignore[type-arg]
    return ", ".join(f"{k}={v!r}" for k, v in arguments.items())

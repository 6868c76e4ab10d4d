"""The seeded split of the tasks into a tuning half and an untouched half, stratified by what each task's
ground-truth actions do, so both halves hold the same mix of cancels, returns, exchanges and the rest.

The agent is tuned on the tuning half only; the untouched half judges it. Rebuild the committed split with
`python -m evals.tasks.split --tasks DATA/tau2-retail/tasks.json` (the same seed gives the same split).
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from evals.tasks.loader import Task, load_tasks

SPLIT_FILE = Path(__file__).with_name("split.json")
SEED = 20261205
HALVES = ("tuning", "untouched")
# A task's stratum is the rarest kind of write among its actions (rarest first), so small kinds are split evenly.
STRATA_BY_ACTION = [
    ("payment", "modify_pending_order_payment"),
    ("address", "modify_pending_order_address"),
    ("address", "modify_user_address"),
    ("cancel", "cancel_pending_order"),
    ("modify", "modify_pending_order_items"),
    ("exchange", "exchange_delivered_order_items"),
    ("return", "return_delivered_order_items"),
]
INFO_ONLY = "info-only"  # no write (lookups, answers, a transfer to a person)


def stratum(task: Task) -> str:
    names = {action["name"] for action in task.actions}
    return next((kind for kind, action in STRATA_BY_ACTION if action in names), INFO_ONLY)


def make_split(tasks: list[Task], seed: int = SEED) -> dict[str, Any]:
    """Each stratum shuffled with the seed and dealt alternately, starting with the half that has fewer tasks."""
    rng = random.Random(seed)
    by_stratum: dict[str, list[str]] = defaultdict(list)
    for task in tasks:
        by_stratum[stratum(task)].append(task.id)
    halves: dict[str, list[str]] = {half: [] for half in HALVES}
    for kind in sorted(by_stratum):
        ids = sorted(by_stratum[kind], key=_numeric_first)
        rng.shuffle(ids)
        order = sorted(HALVES, key=lambda half: (len(halves[half]), rng.random()))
        for position, task_id in enumerate(ids):
            halves[order[position % 2]].append(task_id)
    return {
        "seed": seed,
        "strata": {task.id: stratum(task) for task in sorted(tasks, key=lambda t: _numeric_first(t.id))},
        **{half: sorted(ids, key=_numeric_first) for half, ids in halves.items()},
    }


def load_split(path: Path = SPLIT_FILE) -> dict[str, str]:
    """Task id -> its half, from the committed split."""
    data = json.loads(path.read_text())
    return {task_id: half for half in HALVES for task_id in data[half]}


def _numeric_first(task_id: str) -> tuple[int, str]:
    return (int(task_id), "") if task_id.isdigit() else (10**9, task_id)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=Path, required=True, help="a tau2-format task file")
    parser.add_argument("--out", type=Path, default=SPLIT_FILE)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    split = make_split(load_tasks(args.tasks), args.seed)
    args.out.write_text(json.dumps(split, indent=1) + "\n")
    print(f"{args.out}: " + ", ".join(f"{half} {len(split[half])}" for half in HALVES))


if __name__ == "__main__":
    main()

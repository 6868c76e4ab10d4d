"""Read tau2 retail task files (the format of tau2-retail/tasks.json) into plain task records."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Scenario:
    """What the simulated customer knows and wants, in the task's own words (second person)."""

    reason_for_call: str
    known_info: str = ""
    unknown_info: str = ""
    task_instructions: str = ""


@dataclass(frozen=True)
class Task:
    id: str
    scenario: Scenario
    actions: list[dict[str, Any]] = field(default_factory=list)  # ground truth: {"name", "arguments"}
    outputs: list[str] = field(default_factory=list)  # facts the agent must tell the customer


class TaskFileError(ValueError):
    pass


def load_tasks(path: Path) -> list[Task]:
    """Every task of a tau2-format task file; a malformed file is refused with the task that breaks it."""
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise TaskFileError(f"cannot read tasks from {path}: {error}") from error
    if not isinstance(raw, list):
        raise TaskFileError(f"{path}: expected a JSON list of tasks")
    return [_task(entry, index, path) for index, entry in enumerate(raw)]


def _task(entry: dict[str, Any], index: int, path: Path) -> Task:
    try:
        instructions = entry["user_scenario"]["instructions"]
        criteria = entry.get("evaluation_criteria") or {}
        scenario = Scenario(
            reason_for_call=_text(instructions.get("reason_for_call")),
            known_info=_text(instructions.get("known_info")),
            unknown_info=_text(instructions.get("unknown_info")),
            task_instructions=_text(instructions.get("task_instructions")),
        )
        actions = [{"name": a["name"], "arguments": dict(a.get("arguments") or {})} for a in criteria.get("actions")
                   or []]
        # tau2 calls the facts to state "communicate_info"; older files call them "outputs".
        outputs = [str(o) for o in (criteria.get("communicate_info") or criteria.get("outputs") or [])]
        return Task(id=str(entry["id"]), scenario=scenario, actions=actions, outputs=outputs)
    except (KeyError, TypeError, AttributeError) as error:
        raise TaskFileError(f"{path}: task #{index} is malformed ({error!r})") from error


def _text(value: Any) -> str:
    """tau2 writes "None" or "." for an empty field."""
    text = "" if value is None else str(value).strip()
    return "" if text in {"None", "."} else text

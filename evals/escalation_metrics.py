"""Pure metric functions for the sentiment and escalation suites (tested on tiny hand-computed fixtures)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import mean, median
from typing import Any


def binary_metrics(labels: Sequence[bool], predicted: Sequence[bool]) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of the positive class (0.0 where undefined)."""
    tp = sum(1 for y, p in zip(labels, predicted, strict=True) if y and p)
    fp = sum(1 for y, p in zip(labels, predicted, strict=True) if not y and p)
    fn = sum(1 for y, p in zip(labels, predicted, strict=True) if y and not p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(1 for y, p in zip(labels, predicted, strict=True) if y == p) / len(labels) if labels else 0.0
    return {"accuracy": accuracy, "precision": precision, "recall": recall, "f1": f1, "examples": len(labels)}


@dataclass(frozen=True)
class ConversationOutcome:
    conversation_id: str
    category: str
    language: str
    should_escalate: bool
    escalate_from: int | None  # the first turn (1-based) at which a person is warranted
    escalated_turn: int | None  # the turn at which the policy escalated; None: never
    reason: str | None = None


def escalation_metrics(outcomes: Sequence[ConversationOutcome]) -> dict[str, Any]:
    """Conversation-level precision/recall, turns to escalation for the true positives, premature escalations."""
    scores = binary_metrics([o.should_escalate for o in outcomes], [o.escalated_turn is not None for o in outcomes])
    caught = [o for o in outcomes if o.should_escalate and o.escalated_turn is not None]
    delays = [o.escalated_turn - o.escalate_from for o in caught if o.escalate_from is not None]  # type: ignore[operator]
    turns = [o.escalated_turn for o in caught]
    return {
        **scores,
        "conversations": len(outcomes),
        "turns_to_escalation_mean": mean(turns) if turns else 0.0,
        "turns_to_escalation_median": median(turns) if turns else 0.0,
        "delay_mean": mean(max(d, 0) for d in delays) if delays else 0.0,
        "premature": sum(1 for d in delays if d < 0),
        "false_escalations": sum(1 for o in outcomes if not o.should_escalate and o.escalated_turn is not None),
        "missed": sum(1 for o in outcomes if o.should_escalate and o.escalated_turn is None),
    }


def by_category(outcomes: Sequence[ConversationOutcome]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[ConversationOutcome]] = {}
    for outcome in outcomes:
        groups.setdefault(outcome.category, []).append(outcome)
    return {name: {"conversations": len(group),
                   "escalated": sum(1 for o in group if o.escalated_turn is not None),
                   "should_escalate": sum(1 for o in group if o.should_escalate)}
            for name, group in sorted(groups.items())}

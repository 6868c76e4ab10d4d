"""The risk rules, read from TOML and checked when loaded: a rule that names an unknown signal, action or role,
or lacks its threshold, is refused with the rule and the field, so a typo never silently switches a check off."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.escalation.roles import StaffRole
from tools.retail.tools import RETAIL_TOOLS
from tools.runner import ToolKind, tool_kind

DEFAULT_RULES = Path(__file__).with_name("rules.toml")
WRITE_ACTIONS = frozenset(t.name for t in RETAIL_TOOLS if tool_kind(t) is ToolKind.WRITE)
# Each signal and the fields it needs besides name, signal and actions.
SIGNAL_FIELDS = {
    "order_value": {"above"},
    "repeated": {"allowed", "window_minutes"},
    "after": {"after", "window_minutes"},
    "failed_identity": {"at_least", "window_minutes"},
}
OPTIONAL_FIELDS = {"approver", "counts"}


class RiskRulesError(ValueError):
    """The rules file is not valid; the message names the rule and the field."""


@dataclass(frozen=True)
class RiskRule:
    name: str
    signal: str
    actions: frozenset[str]
    approver: StaffRole = StaffRole.SUPERVISOR
    above: float = 0.0  # order_value
    allowed: int = 0  # repeated
    counts: frozenset[str] = field(default_factory=frozenset)  # repeated: the past actions counted
    after: frozenset[str] = field(default_factory=frozenset)  # after
    at_least: int = 0  # failed_identity
    window_minutes: float = 0.0

    def counted(self) -> frozenset[str]:
        return self.counts or self.actions


def load_rules(path: Path = DEFAULT_RULES) -> list[RiskRule]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise RiskRulesError(f"cannot read the risk rules {path}: {error}") from None
    unknown = set(data) - {"rule"}
    if unknown:
        raise RiskRulesError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}")
    return [parse_rule(raw, index) for index, raw in enumerate(data.get("rule", []), start=1)]


def parse_rule(raw: dict[str, Any], index: int = 1) -> RiskRule:
    where = f"risk rule {index} ({raw.get('name', 'unnamed')!r})"
    signal = raw.get("signal")
    if not isinstance(raw.get("name"), str) or not raw["name"].strip():
        raise RiskRulesError(f"{where}: 'name' must be a non-empty string")
    if signal not in SIGNAL_FIELDS:
        raise RiskRulesError(f"{where}: 'signal' must be one of {', '.join(SIGNAL_FIELDS)}")
    needed = SIGNAL_FIELDS[signal]
    missing = needed - set(raw)
    extra = set(raw) - needed - OPTIONAL_FIELDS - {"name", "signal", "actions"}
    if missing or extra:
        problem = f"missing {', '.join(sorted(missing))}" if missing else f"unknown {', '.join(sorted(extra))}"
        raise RiskRulesError(f"{where}: {problem} (a {signal} rule has {', '.join(sorted(needed))})")
    values = {key: _checked(where, key, raw[key]) for key in needed | (OPTIONAL_FIELDS & set(raw))}
    return RiskRule(name=raw["name"].strip(), signal=signal, actions=_actions(where, "actions", raw.get("actions")),
                    **values)


def _checked(where: str, key: str, value: Any) -> Any:
    if key in {"after", "counts"}:
        return _actions(where, key, value)
    if key == "approver":
        if value not in {role.value for role in StaffRole}:
            raise RiskRulesError(f"{where}: 'approver' must be one of {', '.join(r.value for r in StaffRole)}")
        return StaffRole(value)
    number = int if key in {"allowed", "at_least"} else float
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or number(value) != value:
        raise RiskRulesError(f"{where}: {key!r} must be a non-negative {number.__name__}")
    return number(value)


def _actions(where: str, key: str, value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise RiskRulesError(f"{where}: {key!r} must be a non-empty list of action names")
    unknown = set(value) - WRITE_ACTIONS
    if unknown:
        raise RiskRulesError(f"{where}: {key!r} names unknown action(s) {', '.join(sorted(unknown))}")
    return frozenset(value)

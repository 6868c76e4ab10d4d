"""Compare two store databases table by table, as tau2's DB reward compares its database states.

The audit log and the chat tables record how a state was reached, not the state, and timestamps and version
counters differ between any two runs: all are left out. Rows of child tables (order lines, payments,
fulfilments) are matched by their parent and position, not by their surrogate ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, Integer, Table

from tools.retail.data_model import Base
from tools.store import Store

# How the state was reached, not the store's state: the audit log, the conversation, its escalation record, the
# actions' exactly-once receipts, risk holds, sign-in codes and customers' feedback.
IGNORED_TABLES = {"audit_log", "chat_sessions", "chat_messages", "chat_escalation_turns", "handoff_tickets",
                  "staff_users", "action_receipts", "risk_holds", "sign_in_codes", "feedback"}
IGNORED_COLUMNS = {"version"}

Snapshot = dict[str, dict[tuple[Any, ...], dict[str, Any]]]  # table -> row key -> column -> value


@dataclass(frozen=True)
class FieldDifference:
    table: str
    key: tuple[Any, ...]
    column: str  # "(row)" when the whole row is missing on one side
    expected: Any
    actual: Any

    def __str__(self) -> str:
        where = f"{self.table}[{', '.join(map(str, self.key))}]"
        return f"{where}.{self.column}: expected {self.expected!r}, got {self.actual!r}"


def compared_tables() -> list[Table]:
    return [table for table in Base.metadata.sorted_tables if table.name not in IGNORED_TABLES]


def _surrogate_key(table: Table) -> bool:
    [*primary] = table.primary_key.columns
    return len(primary) == 1 and isinstance(primary[0].type, Integer) and primary[0].autoincrement in (True, "auto")


def _key_columns(table: Table) -> list[str]:
    if not _surrogate_key(table):
        return [column.name for column in table.primary_key.columns]
    parents = [column.name for column in table.columns if column.foreign_keys]
    return parents + (["position"] if "position" in table.columns else [])


def _value_columns(table: Table, key: list[str]) -> list[str]:
    skip = set(key) | IGNORED_COLUMNS
    if _surrogate_key(table):
        skip |= {column.name for column in table.primary_key.columns}
    return [c.name for c in table.columns if c.name not in skip and not isinstance(c.type, DateTime)]


def snapshot(store: Store) -> Snapshot:
    """Every compared row of the store, keyed for comparison."""
    taken: Snapshot = {}
    with store.engine.connect() as connection:
        for table in compared_tables():
            key, values = _key_columns(table), _value_columns(table, _key_columns(table))
            rows = connection.execute(table.select()).mappings()
            taken[table.name] = {tuple(row[k] for k in key): {c: row[c] for c in values} for row in rows}
    return taken


def differences(expected: Snapshot, actual: Snapshot) -> list[FieldDifference]:
    """Every field that differs, every row only one side has; empty when the states are equal."""
    found = []
    for table in expected.keys() | actual.keys():
        want, got = expected.get(table, {}), actual.get(table, {})
        for key in sorted(want.keys() | got.keys(), key=lambda k: tuple(map(str, k))):
            if key not in got or key not in want:
                found.append(FieldDifference(table, key, "(row)", want.get(key), got.get(key)))
                continue
            for column in want[key].keys() | got[key].keys():
                if want[key].get(column) != got[key].get(column):
                    found.append(FieldDifference(table, key, column, want[key].get(column), got[key].get(column)))
    return sorted(found, key=lambda d: (d.table, tuple(map(str, d.key)), d.column))

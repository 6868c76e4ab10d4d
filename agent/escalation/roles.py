"""Staff roles: an agent works its own tickets and unassigned ones; a supervisor works every ticket and approves
held actions (unless a risk rule lets an agent approve)."""

from __future__ import annotations

from enum import StrEnum


class StaffRole(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"

    def covers(self, needed: StaffRole) -> bool:
        """Whether this role may do what `needed` may (a supervisor may do all an agent may)."""
        return RANK[self] >= RANK[needed]


RANK = {StaffRole.AGENT: 0, StaffRole.SUPERVISOR: 1}


def highest(roles: list[StaffRole]) -> StaffRole:
    return max(roles, key=RANK.__getitem__, default=StaffRole.SUPERVISOR)

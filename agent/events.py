"""What one turn of the agent emits, in order; the server streams these as server-sent events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    type: str  # tool_started | tool_finished | products | confirmation | handoff | token | message | error | done
    data: dict[str, Any] = field(default_factory=dict)

"""What one turn of the agent emits, in order; the server streams these as server-sent events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    # tool_started | tool_finished | products | confirmation | handoff | token | message | suggestion | error | done
    type: str
    data: dict[str, Any] = field(default_factory=dict)

"""Named crash points for the kill -9 tests: with SHOPAGENT_FAULT_POINT=<name> the process kills itself (SIGKILL,
no clean-up, as a power cut or the OOM killer would) the first time it reaches that point. Unset, a point costs
one string comparison."""

from __future__ import annotations

import os
import signal

ARMED = os.environ.get("SHOPAGENT_FAULT_POINT", "")

# Where a confirmed action's turn can die, in the order the turn passes them.
POINTS = (
    "message_stored",  # the customer's message is committed, nothing else of the turn
    "before_effect",  # the write tool is about to open its transaction
    "effect_committed",  # the action and its receipt are committed; the tool row, state and reply are not
    "tool_row_stored",  # the tool's result row is stored too
    "before_reply",  # the reply is ready; it and the session state are about to be committed together
    "reply_stored",  # the reply and the state are committed; the client has not received the reply
)


def fault_point(name: str) -> None:
    if name == ARMED:
        os.kill(os.getpid(), signal.SIGKILL)

"""The dialogue's flows: one spec per request (spec.py, the table to read first), one module per request family,
and the machinery that runs them (turn.py, orders.py, proposals.py, batches.py). See README.md."""

from agent.flows.outcome import Flow, Outcome, ask
from agent.flows.spec import BATCHED, NEEDS_ACCOUNT, SPECS, Action, RequestSpec
from agent.flows.turn import Turn

__all__ = ["BATCHED", "NEEDS_ACCOUNT", "SPECS", "Action", "Flow", "Outcome", "RequestSpec", "Turn", "ask"]

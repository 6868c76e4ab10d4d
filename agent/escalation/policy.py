"""The escalation policy: a pure function of the conversation's turn signals, decided every turn.

Sentiment is smoothed (exponential moving average) and must stay high: an alert opens when the average reaches
`enter`, closes only when it falls below `exit` (hysteresis), and escalates once it has been open for `persist`
turns. So one rude message in a calm conversation does not escalate, a run of angry ones does, and a mild message
inside an angry run does not reset the count. Explicit requests for a person and risk topics escalate at once;
`stuck_turns` consecutive turns without progress (the same question again, the same reply, tool errors; a message
the agent could not place counts 0.75) escalate a polite customer who is getting nowhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from agent.escalation.signals import TurnSignals


@dataclass(frozen=True)
class PolicyConfig:
    alpha: float = 0.6  # weight of the newest message in the moving average
    prior: float = 0.1  # where the average starts: a conversation starts calm
    enter: float = 0.55
    exit: float = 0.4
    persist: int = 2  # turns the alert must stay open
    stuck_turns: float = 3.0  # consecutive turns without progress, weighted as below
    # A message the agent could not place counts less than the customer or the agent going in circles: it is
    # often a follow-up a flow-only agent cannot place, not a customer getting nowhere.
    stuck_weights: tuple[tuple[str, float], ...] = (
        ("repeated_question", 1.0), ("same_reply", 1.0), ("tool_error", 1.0), ("misunderstood", 0.75))
    use_sentiment: bool = True
    use_rules: bool = True  # explicit requests, risk topics, being stuck (off: an ablation in the eval)


@dataclass
class PolicyState:
    turns: int = 0
    smoothed: float | None = None
    alert: bool = False
    alert_turns: int = 0
    stuck_streak: float = 0.0  # weighted consecutive turns without progress
    peak: float = 0.0  # highest smoothed frustration so far (for the ticket's priority)

    def to_json(self) -> dict:  # type: ignore[type-arg]
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> PolicyState:  # type: ignore[type-arg]
        return cls(**{k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Decision:
    escalate: bool
    reason: str | None = None  # explicit_request | risk:<topic> | frustration | repeated_failure
    smoothed: float = 0.0


DEFAULT = PolicyConfig()


def decide(state: PolicyState, signals: TurnSignals, config: PolicyConfig = DEFAULT) -> Decision:
    """Update `state` with this turn's signals (in place) and decide whether to hand over now."""
    state.turns += 1
    previous = config.prior if state.smoothed is None else state.smoothed
    state.smoothed = config.alpha * signals.frustration + (1 - config.alpha) * previous
    state.peak = max(state.peak, state.smoothed)
    if state.alert and state.smoothed < config.exit:
        state.alert, state.alert_turns = False, 0
    elif state.alert or state.smoothed >= config.enter:
        state.alert = True
        state.alert_turns += 1
    weights = dict(config.stuck_weights)
    weight = max((weights.get(kind, 1.0) for kind in signals.stuck), default=0.0)
    state.stuck_streak = state.stuck_streak + weight if weight else 0.0
    if config.use_rules and signals.risk:
        return Decision(True, f"risk:{signals.risk}", state.smoothed)
    if config.use_rules and (signals.explicit or signals.flow_handoff):
        return Decision(True, "explicit_request", state.smoothed)
    if config.use_sentiment and state.alert and state.alert_turns >= config.persist:
        return Decision(True, "frustration", state.smoothed)
    if config.use_rules and state.stuck_streak >= config.stuck_turns:
        return Decision(True, "repeated_failure", state.smoothed)
    return Decision(False, None, state.smoothed)


def calm_again(state: PolicyState, config: PolicyConfig = DEFAULT) -> None:
    """After a person hands the conversation back: a fresh start, so the bot is not bounced straight back."""
    state.smoothed, state.alert, state.alert_turns, state.stuck_streak = config.prior, False, 0, 0.0

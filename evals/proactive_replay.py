"""The proactive replay in conversations: scripted customer conversations through the real Agent and its
ProactiveEngine, counting how often suggestions appear (issue 20: suggestions with restraint).

The anticipation replay (evals/recommender_benchmark.py) measures *what* the engine would suggest; this one
measures *how often* a customer sees a suggestion, per conversation and per turn, under the engine's rules
(none on the sign-in turn, never a card already shown, at most one in `every_turns` turns).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Demo-store conversations a shopper might have: browsing, signing in, order questions, thanks.
CONVERSATIONS: tuple[tuple[str, ...], ...] = (
    ("show me hiking boots", "show me a backpack", "show me a t-shirt", "show me a jigsaw puzzle", "thanks"),
    ("my email is james.li4495@example.com", "thanks", "what's the status of order #W4435622?", "thanks"),
    ("show me a water bottle", "show me sunglasses", "my email is james.li4495@example.com",
     "where is order #W2611340?", "show me a backpack", "thanks"),
    ("hi", "show me a t-shirt", "what goes well with hiking boots?", "show me a jigsaw puzzle"),
)


def replay(agent: Any, conversations: Sequence[Sequence[str]] = CONVERSATIONS) -> dict[str, float]:
    """Each conversation in a new session of `agent`; the suggestion counts over all of them."""
    counts = [_suggestions(agent, script) for script in conversations]
    turns = sum(len(script) for script in conversations)
    return {
        "conversations": len(conversations),
        "turns": turns,
        "suggestions": sum(counts),
        "suggestions_per_conversation": round(sum(counts) / max(1, len(conversations)), 3),
        "suggestions_per_turn": round(sum(counts) / max(1, turns), 3),
        "conversations_with_a_suggestion": sum(count > 0 for count in counts),
    }


def _suggestions(agent: Any, script: Sequence[str]) -> int:
    session, _ = agent.open_session()
    return sum(
        any(event.type == "suggestion" for event in agent.turn(session.id, text)) for text in script
    )

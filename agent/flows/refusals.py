"""A store tool's refusal in the customer's words: the payment method ids in it (the store's, not the customer's)
become the method as the customer knows it ("your visa card ending 6593")."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from agent.replies import method_text, say

if TYPE_CHECKING:
    from agent.flows.turn import Turn

# A payment method id in a tool's error, with the noun the message puts before it ("Gift card gift_card_0000000").
METHOD_ID = re.compile(
    r"\b(?:(?:[Gg]ift card|[Pp]ayment method) )?((?:credit_card|gift_card|paypal|debit_card)_\d{1,12})\b"
)


def in_words(turn: Turn, error: str) -> str:
    if not METHOD_ID.search(error):
        return error
    user = turn.user()
    methods: dict[str, Any] = user["payment_methods"] if user else {}
    worded = METHOD_ID.sub(lambda found: say("your_method", method=_short(methods.get(found.group(1)))), error)
    return worded[:1].upper() + worded[1:]


def _short(method: dict[str, Any] | None) -> str:
    """The method as the customer knows it, without a gift card's balance (the refusal states the balance)."""
    if method is None:
        return say("payment_method")
    if method["source"] == "credit_card":
        return method_text(method)
    return say(f"method_{method['source']}") if method["source"] in {"gift_card", "paypal"} else say("payment_method")

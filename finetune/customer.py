"""The scripted customer of a training conversation about an order or the account.

It answers what the agent actually asked — identity, the order, the reason, the new address, the item, the option,
the payment method, the confirmation — so every conversation is a coherent dialogue, and every target is the
request's tool with the arguments the customer has stated so far (the policy-bound flow gathers the rest).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from agent import toolcall
from agent.replies import templates as replies
from agent.toolcall import NO_TOOL, ToolCall
from finetune.phrasing import Step, fill, noisy, odd_order_id, pick_template

# The agent's questions, known by the opening words of their reply templates (agent/locales/<locale>/replies.toml).
QUESTIONS = ("identity_ok", "ask_identity", "ask_order", "ask_reason", "ask_address", "ask_items", "ask_new_option",
             "ask_payment")
MAX_ANSWERS = 6  # a conversation that has not ended by then is cut (the agent is going round in circles)
PAYMENT_ID = re.compile(r"\b((credit_card|paypal|gift_card)_\d{7})\b")
PAYMENT_WORDS = re.compile(r"\b(paypal|gift card|\w+ card ending \d{4})\b", re.I)  # as the agent lists them
PRICE = re.compile(r"\s*\$[\d,.]+$")


@cache
def _opening(key: str) -> str:
    return replies()[key].split("{")[0].strip()


def question(reply: str) -> str | None:
    """Which of the agent's questions the reply asks, if any."""
    return next((key for key in QUESTIONS if _opening(key) in reply), None)


@dataclass
class Request:
    """What the customer wants and knows: the call so far and the facts they can give when asked."""

    call: ToolCall
    restate: str  # the template kind to say the request again with
    text: dict[str, Any]  # slot texts: oid, item, reason, street, city, zip2
    order_id: str | None = None
    reason: str | None = None  # the cancel reason's key
    address: dict[str, str] = field(default_factory=dict)  # the new address as tool arguments
    account_tool: bool = False  # the call names the verified customer's user id


@dataclass
class Customer:
    user: dict[str, Any]
    split: str
    request: Request
    rng: random.Random
    answers: int = 0
    confirmed: bool = False
    finished: bool = False

    def answer(self, reply: str, confirming: bool) -> Step | None:
        """The next message after the agent's reply, or None when the conversation is over."""
        if self.finished or self.answers >= MAX_ANSWERS:
            return None
        self.answers += 1
        if confirming and not self.confirmed:
            self.confirmed = True
            return self._confirmation()
        asked = question(reply)
        if asked is None or self.confirmed:  # answered or done: perhaps a thanks, then the end
            self.finished = True
            return self._phrase("thanks", ToolCall(NO_TOOL)) if self.rng.random() < 0.5 else None
        return getattr(self, f"_{asked}")(reply)

    # --- the answers ---------------------------------------------------------------------------------------

    def _call(self, **stated: Any) -> ToolCall:
        """The request with what the customer just stated; an answer the tool takes no argument for adds none."""
        accepted = toolcall.argument_names(self.request.call.tool)
        self.request.call.arguments.update({k: v for k, v in stated.items() if k in accepted and v is not None})
        return ToolCall(self.request.call.tool, dict(self.request.call.arguments))

    def _phrase(self, kind: str, target: ToolCall, **slots: Any) -> Step:
        text, tid = pick_template(kind, self.split, self.rng)
        return Step(fill(text, self.rng, **slots) if slots else noisy(text, self.rng), target, tid)

    def _identity_ok(self, reply: str) -> Step:
        """Verified, and the agent asks what for: the request again."""
        return self._phrase(self.request.restate, self._call(), **self.request.text)

    def _ask_identity(self, reply: str) -> Step:
        user = self.user
        if self.request.account_tool:
            call = self.request.call
            self.request.call = ToolCall(call.tool, {"user_id": user["user_id"], **call.arguments})
        if self.rng.random() < 0.6:
            email = user["email"].upper() if self.rng.random() < 0.1 else user["email"]
            return self._phrase("identity_email", ToolCall("find_user_id_by_email", {"email": email}), email=email)
        first, last = user["name"]["first_name"], user["name"]["last_name"]
        if self.rng.random() < 0.15:
            first, last = first.lower(), last.lower()
        zip_code = user["address"]["zip"]
        text, tid = pick_template("identity_name", self.split, self.rng)
        call = ToolCall("find_user_id_by_name_zip", {"first_name": first, "last_name": last, "zip": zip_code})
        return Step(fill(text, self.rng, casing=False, first=first, last=last, zip=zip_code), call, tid)

    def _ask_order(self, reply: str) -> Step | None:
        if self.request.order_id is None:  # not about an order: a customer would have no number to give
            self.finished = True
            return None
        return self._phrase("give_order", self._call(order_id=self.request.order_id), oid=self.request.text["oid"])

    def _ask_reason(self, reply: str) -> Step:
        return self._phrase("give_reason", self._call(reason=self.request.reason), reason=self.request.text["reason"])

    def _ask_address(self, reply: str) -> Step:
        text = self.request.text
        return self._phrase("give_address", self._call(**self.request.address), street=text["street"],
                            city=text["city"], zip2=text["zip2"])

    def _ask_items(self, reply: str) -> Step:
        return self._phrase("give_item", self._call(), item=self.request.text["item"])

    def _ask_new_option(self, reply: str) -> Step:
        options = [PRICE.sub("", o) for o in reply.split("Available: ", 1)[-1].rstrip(".").split("; ")]
        chosen = self.rng.choice(options)
        values = ", ".join(part.split(": ", 1)[-1] for part in chosen.split(", "))
        return self._phrase("give_option", self._call(), option=values)

    def _ask_payment(self, reply: str) -> Step:
        on_file = reply.split("On file:", 1)[-1]
        ids = [method_id for method_id, _ in PAYMENT_ID.findall(on_file)]
        if ids and self.rng.random() < 0.5:  # the customer copies an id: it becomes an argument
            method_id = self.rng.choice(ids)
            return self._phrase("give_payment", self._call(payment_method_id=method_id), method=method_id)
        words = PAYMENT_WORDS.findall(on_file) or ["gift card"]
        return self._phrase("give_payment", self._call(), method=self.rng.choice(words).lower())

    def _confirmation(self) -> Step:
        """The answer to "shall I go ahead?": yes restates the call, no is none, or a change of mind."""
        roll = self.rng.random()
        if roll < 0.6:
            return self._phrase("yes", self._call())
        if roll < 0.85 or self.request.order_id is None:
            return self._phrase("no", ToolCall(NO_TOOL))
        oid = self.request.order_id  # changed their mind: just the status instead
        return self._phrase("order_status", ToolCall("get_order_details", {"order_id": oid}),
                            oid=odd_order_id(oid, self.rng))

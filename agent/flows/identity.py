"""Who the customer is, under the store's identity policy (tools/context.py `IdentityPolicy`).

benchmark (tau2's rule, for its tasks): an email, or a name + zip, identifies the customer (`Turn.identify`).
store: only proof does — the storefront's signed token (the session starts verified) or a one-time code mailed to
the account's email and typed back here. The tools enforce it again: under this policy the look-ups by email or
name + zip refuse (tools/retail/tools.py), and only a right code binds a customer (tools/sign_in.py).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agent.flows.outcome import Outcome, ask
from agent.nlu import Intent, Understanding, understand
from agent.replies import say
from tools.context import IdentityPolicy

if TYPE_CHECKING:
    from agent.flows.turn import Turn

# While a code is out, 6 digits ("123456", "123 456", "123-456") are the code: never an order id (7 digits) or a zip.
CODE = re.compile(r"(?<!\d)(\d{3})[ -]?(\d{3})(?!\d)")
REFUSALS = {"wrong": "code_wrong", "expired": "code_expired", "locked": "code_locked", "none": "code_no_code"}
MANNERS = {Intent.GREET, Intent.THANKS}


def question(turn: Turn) -> Outcome:
    """Ask who the customer is, in the words of the policy in force."""
    if turn.ctx.identity is IdentityPolicy.STORE:
        return ask("ask_identity_code", gist="asking the customer to verify their identity")
    key = "ask_zip" if turn.state.name else "ask_identity"
    return ask(key, gist="asking the customer to verify their identity")


def prove(turn: Turn, said: Understanding) -> Outcome | bool | None:
    """Under the store policy: True when the message's code verified the customer, an Outcome when the message
    started or failed a proof (the reply), None when it is not about identity."""
    if turn.ctx.customer_id is not None:
        return None
    code = CODE.search(said.text) if turn.state.code_sent else None
    if code is not None:
        return _check(turn, code.group(1) + code.group(2))
    if said.emails:
        return _send(turn, said)
    if said.name and said.zip:
        _remember_request(turn, said)
        return _asking("code_needs_email")
    return None


def without_code(said: Understanding) -> Understanding:
    """The rest of a message that carried the code ("123456, and cancel my order"), read on its own."""
    rest = CODE.sub(" ", said.text).strip()
    return understand(rest) if rest else Understanding(text="")


def _send(turn: Turn, said: Understanding) -> Outcome:
    email = said.emails[0]
    result = turn.call("send_sign_in_code", email=email)
    if not result.ok:
        return turn.failed()
    _remember_request(turn, said)  # taken up once the code proves who the customer is
    if not result.output.get("sent"):
        return _asking("code_throttled")
    turn.state.code_sent = True
    return Outcome(say("code_sent", email=email), gist="asking for the sign-in code", asks=True, asked="identity")


def _check(turn: Turn, code: str) -> Outcome | bool:
    result = turn.call("check_sign_in_code", code=code)
    if not result.ok:
        return turn.failed()
    if result.output.get("verified"):
        turn.state.code_sent = False
        return True
    reason = result.output.get("reason", "none")
    turn.state.code_sent = reason == "wrong"  # expired, locked or gone: only a new code helps now
    return _asking(REFUSALS.get(reason, "code_no_code"))


def _remember_request(turn: Turn, said: Understanding) -> None:
    intent, _ = turn.request_of(said, None)
    if intent is not None and intent not in MANNERS:
        turn.state.intent = intent.value


def _asking(key: str) -> Outcome:
    return Outcome(say(key), gist="asking the customer to verify their identity", asks=True, asked="identity")

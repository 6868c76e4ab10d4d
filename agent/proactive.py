"""The proactive engine: decides whether to offer one unasked suggestion at the end of a turn.

Rules, enforced here whatever the flows did: at most one suggestion per turn; none while the customer complains,
after a hand-off, or while the agent asks a question or for a confirmation; a declined suggestion is never made
again; the customer can switch suggestions off ("stop suggesting things") and on again. Restraint (issue 20):
none on the turn the customer signs in (they came to do something, not to be sold to), never a product card
already shown in the conversation, and at most one suggestion in `every_turns` turns (default 3: a suggestion,
then two turns without). Its state lives in the persisted DialogueState, so a restart changes none of this.

Candidates, first match wins: a heads-up about an order likely to arrive late (through an injectable
late_risk(order_id) -> probability), an in-stock alternative to an unavailable item, a follow-up on a delivered
order, items that go with a product the customer asked about, and "buy again" for goods they buy regularly.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from agent.nlu import Intent, Understanding
from agent.replies import line_text, money, options_text, reason_text, say

if TYPE_CHECKING:
    from agent.flows import Outcome, Turn

log = logging.getLogger(__name__)
LateRisk = Callable[[str], float | None]

COMPLAINT = re.compile(
    r"\b(complain\w*|terrible|awful|horrible|worst|broken|damaged|defective|faulty|angry|furious|unacceptable"
    r"|ridiculous|disappoint\w*|frustrat\w*|useless|scam|rip-?off|never arrived|(hasn'?t|has not|still not|didn'?t)"
    r" (arrived|come|shown up)|wrong (item|size|colou?r)|not happy|unhappy|upset|fed up|annoyed|missing)\b"
    # Chinese (no word boundaries): complaints, broken or wrong goods, anger, disappointment.
    r"|投诉|太差|很差|坏了|破损|发错|还没到|没收到|生气|失望|垃圾|不满意",
    re.I,
)
OPT_OUT = re.compile(
    r"\b(stop|no more|don'?t|do not|quit|turn off|switch off|disable|enough|without)\b[\w\s]{0,20}?"
    r"\b(suggest\w*|recommend\w*|offers?|upsell\w*)"
    r"|(不要|别|停止|关闭|关掉|不用)(再)?(给我)?(推荐|推销)",
    re.I,
)
OPT_IN = re.compile(
    r"\b(turn on|switch on|enable|start|resume|you can|feel free to)\b[\w\s]{0,20}?\b(suggest\w*|recommend\w*)"
    r"|\b(suggestions?|recommendations?) (back )?on\b"
    r"|(打开|开启|恢复|继续)(给我)?推荐",
    re.I,
)
DECLINE = re.compile(
    r"^\s*(no|nope|nah|not interested|not now|not really|maybe later|i'?m (good|fine|ok|okay)|pass|no need)\b"
    r"|^\s*(不用|不要|不需要|不了|算了|没兴趣)",
    re.I,
)
SIGN_IN_TOOLS = {"find_user_id_by_email", "find_user_id_by_name_zip", "check_sign_in_code"}
EVERY_TURNS = 3  # at most one suggestion in this many turns (server setting `suggestion_every_turns`)
IDLE_INTENTS = {None, Intent.GREET, Intent.THANKS, Intent.ACCOUNT}
PRODUCT_INTENTS = {Intent.SEARCH, Intent.PRODUCT}


@dataclass(frozen=True)
class Suggestion:
    key: str  # what it is about ("product:<id>", "late:<order>", ...): a declined key is never offered again
    kind: str  # late_order | alternative | follow_up | complementary | buy_again
    text: str
    product: dict[str, Any] | None = None

    def payload(self) -> dict[str, Any]:
        """The `suggestion` event's data (server/API.md)."""
        return {"id": self.key, "kind": self.kind, "label": say("suggestion_label"), "text": self.text,
                "product": self.product}


@cache
def _sentiment():  # type: ignore[no-untyped-def]
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def is_complaint(text: str) -> bool:
    """Complaint words, or a clearly negative message (VADER compound ≤ -0.5)."""
    return bool(COMPLAINT.search(text)) or _sentiment().polarity_scores(text)["compound"] <= -0.5


class ProactiveEngine:
    def __init__(
        self,
        late_risk: LateRisk | None = None,
        late_threshold: float = 0.5,
        enabled: bool = True,
        every_turns: int = EVERY_TURNS,
    ) -> None:
        self.enabled = enabled  # off: never suggests, nor reads answers to suggestions
        self.every_turns = max(1, every_turns)  # 1: a suggestion may come every turn
        self.late_risk = late_risk  # None: the late-order rule is off (no delivery predictor wired)
        self.late_threshold = late_threshold

    # --- the customer's answer to suggestions ------------------------------------------------------------

    def respond(self, turn: Turn, said: Understanding) -> Outcome | None:
        """Switching suggestions off or on, or declining the one just offered; None when the message is not
        about suggestions (it then goes to the flows as usual)."""
        from agent.flows import Outcome

        if not self.enabled:
            return None
        state = turn.state
        offered, state.suggestion_open = state.suggestion_open, None  # it stays open for one message only
        if state.pending or state.handed_off:
            return None
        if OPT_OUT.search(said.text):
            state.suggestions_off = True
            if offered:
                self._decline(turn, offered["id"])
            return Outcome(say("suggestions_off"), gist="suggestions switched off")
        if OPT_IN.search(said.text):
            state.suggestions_off = False
            return Outcome(say("suggestions_on"), gist="suggestions switched on")
        if offered and DECLINE.match(said.text) and not set(said.intents) - {Intent.THANKS}:
            self._decline(turn, offered["id"])
            return Outcome(say("suggestion_declined"), gist="the customer declined a suggestion")
        return None

    @staticmethod
    def _decline(turn: Turn, key: str) -> None:
        if key not in turn.state.suggestions_declined:
            turn.state.suggestions_declined.append(key)

    # --- whether to suggest something this turn ----------------------------------------------------------

    def offer(self, turn: Turn, said: Understanding, outcome: Outcome) -> dict[str, Any] | None:
        """consider(), but a failure in it costs only the suggestion, never the customer's answer."""
        try:
            if self.enabled:
                self._count_turn(turn, outcome)
            return self.consider(turn, said, outcome)
        except Exception:
            log.exception("the proactive engine failed in session %s", turn.session_id)
            return None

    def consider(self, turn: Turn, said: Understanding, outcome: Outcome) -> dict[str, Any] | None:
        """At most one suggestion for this turn, as the `suggestion` event's payload; remembered as offered."""
        state = turn.state
        if not self.enabled or state.suggestions_off or state.handed_off:
            return None
        if outcome.handoff or outcome.confirmation or outcome.asks:
            return None
        if outcome.gist.startswith(("suggestions switched", "the customer declined")) or is_complaint(said.text):
            return None
        if any(not result.ok for result in turn.results):
            return None  # something failed this turn: not the moment to sell
        if self.signed_in(turn) or self._too_soon(turn):
            return None
        for suggestion in self._candidates(turn, said, outcome):
            if self._repeats(turn, suggestion):
                continue
            if not self._grounded(turn, suggestion.text):
                continue
            state.suggestions_made.append(suggestion.key)
            state.suggested_turn = state.turns
            state.suggestion_open = suggestion.payload()
            return state.suggestion_open
        return None

    # --- restraint -------------------------------------------------------------------------------------------

    @staticmethod
    def _count_turn(turn: Turn, outcome: Outcome) -> None:
        """Number the turn and remember its cards, whether or not a suggestion may follow: a card shown while
        suggestions were off is still one the customer has seen."""
        state = turn.state
        state.turns += 1
        for card in outcome.cards:
            for key in (f"product:{card.get('product_id')}", f"item:{card.get('item_id')}"):
                if not key.endswith(":None") and key not in state.cards_shown:
                    state.cards_shown.append(key)

    @staticmethod
    def signed_in(turn: Turn) -> bool:
        """The customer was verified this turn: the turn belongs to what they came for, not to a sales pitch."""
        return any(result.ok and result.name in SIGN_IN_TOOLS for result in turn.results)

    def _too_soon(self, turn: Turn) -> bool:
        last = turn.state.suggested_turn
        return last is not None and turn.state.turns - last < self.every_turns

    @staticmethod
    def _repeats(turn: Turn, suggestion: Suggestion) -> bool:
        """Declined before, made before, or its card already shown (product keys cover every variant; an
        alternative's item key only that variant, so an in-stock sibling of an unavailable card still counts)."""
        state = turn.state
        return suggestion.key in {*state.suggestions_declined, *state.suggestions_made, *state.cards_shown}

    def _candidates(self, turn: Turn, said: Understanding, outcome: Outcome) -> Iterator[Suggestion]:
        yield from self._late_orders(turn)
        yield from self._alternatives(turn, outcome)
        yield from self._follow_ups(turn, said)
        yield from self._complements(turn, said, outcome)
        yield from self._buy_again(turn, said)

    @staticmethod
    def _grounded(turn: Turn, text: str) -> bool:
        agent = turn.agent
        return not agent.checker.violations(text, agent.evidence(turn.session_id))

    # --- the rules -----------------------------------------------------------------------------------------

    @staticmethod
    def _orders_seen(turn: Turn) -> list[dict[str, Any]]:
        return [r.output for r in turn.results if r.ok and r.name == "get_order_details" and isinstance(r.output, dict)]

    def _late_orders(self, turn: Turn) -> Iterator[Suggestion]:
        if self.late_risk is None:
            return
        for order in self._orders_seen(turn):
            if order["status"] not in ("pending", "processed"):
                continue
            risk = self.late_risk(order["order_id"])
            if risk is not None and risk >= self.late_threshold:
                text = say("suggest_late_order", order_id=order["order_id"])
                yield Suggestion(f"late:{order['order_id']}", "late_order", text)

    @staticmethod
    def _alternatives(turn: Turn, outcome: Outcome) -> Iterator[Suggestion]:
        if not outcome.cards or outcome.cards[0].get("available", True):
            return
        wanted = outcome.cards[0]
        product = turn.output("get_product_details", product_id=wanted["product_id"])
        if product is None:
            return
        shown = {card["item_id"] for card in outcome.cards}  # an item already among the cards is no suggestion
        variants = [v for v in product["variants"].values() if v["available"] and v["item_id"] not in shown]
        shared = lambda v: sum(v["options"].get(k) == value for k, value in wanted["options"].items())  # noqa: E731
        for variant in sorted(variants, key=lambda v: (-shared(v), v["item_id"])):
            card = {"product_id": product["product_id"], "name": product["name"], **variant}
            text = say("suggest_alternative", unavailable=line_text(wanted), item=line_text(card))
            yield Suggestion(f"item:{variant['item_id']}", "alternative", text, {**card, "price": money(card["price"])})

    def _follow_ups(self, turn: Turn, said: Understanding) -> Iterator[Suggestion]:
        if said.intent is not Intent.ORDER_STATUS:
            return
        for order in self._orders_seen(turn):
            if order["status"] == "delivered":
                yield Suggestion(f"follow_up:{order['order_id']}", "follow_up",
                                 say("suggest_follow_up", order_id=order["order_id"]))

    def _complements(self, turn: Turn, said: Understanding, outcome: Outcome) -> Iterator[Suggestion]:
        if said.intent not in PRODUCT_INTENTS or not outcome.cards or not outcome.cards[0].get("available", True):
            return
        asked = outcome.cards[0]
        shown = {card["product_id"] for card in outcome.cards}
        picks = turn.output("recommend_products", product_ids=[asked["product_id"]], user_id=turn.ctx.customer_id,
                            strategy="complementary", limit=3)
        for pick in picks or []:
            if pick["product_id"] not in shown:
                yield self._product_suggestion("complementary", pick)

    def _buy_again(self, turn: Turn, said: Understanding) -> Iterator[Suggestion]:
        if turn.ctx.customer_id is None or said.intent not in IDLE_INTENTS:
            return
        picks = turn.output("recommend_products", user_id=turn.ctx.customer_id, strategy="buy_again", limit=3)
        for pick in picks or []:
            yield self._product_suggestion("buy_again", pick)

    @staticmethod
    def _product_suggestion(kind: str, pick: dict[str, Any]) -> Suggestion:
        text = say(f"suggest_{kind}", name=pick["name"], options=options_text(pick["options"]),
                   price=money(pick["price"]), reason=reason_text(pick["reason"]))
        card = {key: pick[key] for key in ("product_id", "item_id", "name", "options", "available")}
        card["price"] = money(pick["price"])
        return Suggestion(f"product:{pick['product_id']}", kind, text, card)

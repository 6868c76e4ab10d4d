"""The dialogue act: what one customer message means, as the flows consume it.

One understanding step turns every message into an act (Rasa CALM's "commands"): the request it starts, the slots
it fills and its dialogue moves. The flows execute acts deterministically and keep every policy check; the act
itself changes nothing.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class RequestKind(StrEnum):
    """What the customer asks the store to do or tell."""

    CANCEL = "cancel"
    RETURN = "return"
    EXCHANGE = "exchange"  # a delivered order's items for other options; a pending order's: modify items
    CHANGE_ADDRESS = "change_address"  # an order's or the account's shipping address
    CHANGE_PAYMENT = "change_payment"  # a pending order's payment method
    ORDER_STATUS = "order_status"
    ARRIVAL = "arrival"  # when an order will arrive
    ACCOUNT = "account"  # the account's details, orders, payment methods, gift-card balance
    SEARCH = "search"  # looking for products
    PRODUCT = "product"  # a question about one product or item (options, how many, details)
    PROBLEM = "problem"  # a problem with an order or item told without a wish ("I lost my tablet"): ask what to do
    RECOMMEND = "recommend"  # asking for suggestions
    HUMAN = "human"  # asking for a person
    GREET = "greet"
    THANKS = "thanks"  # thanks, goodbye, that's all
    CHITCHAT = "chitchat"  # small talk about the agent or nothing in particular
    OUT_OF_SCOPE = "out_of_scope"  # legal, fraud, invoices, coupons, passwords...


class Move(StrEnum):
    """What the message does to the conversation, beside or instead of a request."""

    YES = "yes"  # accepts the proposal awaiting confirmation
    NO = "no"  # declines it, or drops the request
    CORRECTION = "correction"  # "actually it's #W...", "no, I meant the other one": replaces a detail given before
    ONLY = "only"  # "only the desk lamp": narrows a proposal to what it names
    OTHER = "other"  # "the other one", "the other card": the option not chosen


class Context(StrEnum):
    """The agent's last question, which a message may answer: the same words mean other things after each ("no
    longer needed" answers "why cancel?", it declines nothing)."""

    CONFIRM = "confirm"  # a proposal awaits the customer's yes
    IDENTITY = "identity"
    ORDER = "order"
    ITEM = "item"
    OPTION = "option"
    ADDRESS = "address"
    PAYMENT = "payment"
    REASON = "reason"


class Reason(StrEnum):
    NO_LONGER_NEEDED = "no longer needed"
    ORDERED_BY_MISTAKE = "ordered by mistake"


class PaymentKind(StrEnum):
    CREDIT_CARD = "credit_card"
    PAYPAL = "paypal"
    GIFT_CARD = "gift_card"


class Slots(BaseModel):
    """Values the message gives. Ids, emails, zips and amounts are copied exactly as written (normalised: order ids
    as '#W' + 7 digits); descriptions are the customer's words."""

    model_config = ConfigDict(extra="forbid")

    order_ids: list[str] = Field(default_factory=list)
    item_ids: list[str] = Field(default_factory=list)
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    zip: str | None = None
    reason: Reason | None = None
    payment: PaymentKind | None = None
    card_last_four: str | None = None
    price_min: float | None = None
    price_max: float | None = None
    address: dict[str, str] | None = None  # address1, address2, city, state, zip, country


class DialogueAct(BaseModel):
    """One message, understood. `requests` in the order the message makes them; empty when the message only
    answers the agent's question, confirms, declines or chats."""

    model_config = ConfigDict(extra="forbid")

    requests: list[RequestKind] = Field(default_factory=list)
    moves: list[Move] = Field(default_factory=list)
    slots: Slots = Field(default_factory=Slots)
    language: str = "en"

    @property
    def request(self) -> RequestKind | None:
        return self.requests[0] if self.requests else None

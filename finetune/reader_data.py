"""Labelled messages for the reader: the tool-call templates, the reader's own phrasing bank and Bitext's customer
utterances, filled with values from the demo store and split into train and dev (every fifth phrasing of a kind is
dev, Bitext by its seeded halves). The evaluation's test-only sets are never read here."""

from __future__ import annotations

import json
import random
import tomllib
from dataclasses import dataclass
from pathlib import Path

from finetune.bitext import BITEXT_FILE, half_of, read_bitext
from finetune.phrasing import DEV_EVERY, TEMPLATES, fill, odd_order_id

HERE = Path(__file__).parent
# The reader's own bank, then the phrasing banks (finetune/phrasings/*.toml: per language, and per class of input
# such as problems.toml, problems told without a wish), one format.
BANKS = {"bank": tomllib.loads((HERE / "reader_bank.toml").read_text())} | {
    f"phrasings.{path.stem}": tomllib.loads(path.read_text())
    for path in sorted((HERE / "phrasings").glob("*.toml"))}
NONE = "none"

# The tool-call templates' kinds as the requests they make (None: an answer or a move, no request of its own).
TEMPLATE_REQUESTS: dict[str, str | None] = {
    "order_status": "order_status", "order_status_no_id": "order_status", "arrival": "arrival",
    "arrival_no_id": "arrival", "cancel": "cancel", "cancel_no_id": "cancel", "return": "return",
    "exchange": "exchange", "modify_items": "exchange", "change_address": "change_address",
    "change_user_address": "change_address", "change_payment": "change_payment", "account": "account",
    "search": "search", "recommend": "recommend", "product_types": "search", "item_details": "product",
    "product_details": "product", "calculate": "chitchat", "human": "human", "out_of_scope": "out_of_scope",
    "greeting": "greet", "thanks": "thanks", "small_talk": "chitchat", "identity_email": None,
    "identity_name": None, "give_order": None, "give_address": None, "give_item": None, "give_option": None,
    "give_payment": None, "give_reason": None, "yes": None, "no": None,
}
TEMPLATE_MOVES = {"yes": "yes", "no": "no"}

# Bitext's intents as requests; the ones the store's tools cannot serve are out of scope.
BITEXT_REQUESTS = {
    "track_order": "order_status", "track_refund": "order_status", "delivery_period": "arrival",
    "cancel_order": "cancel", "change_order": "exchange", "change_shipping_address": "change_address",
    "set_up_shipping_address": "change_address", "get_refund": "return", "place_order": "search",
    "check_payment_methods": "account", "contact_human_agent": "human", "contact_customer_service": "human",
}
# A complaint is a feeling, not a request: the escalation module scores it (agent/escalation); its words would
# teach the reader that anger asks for a person.
BITEXT_LEFT_OUT = {"complaint"}
# Words that state a cancel reason inside a phrasing without a {reason} slot ("I no longer need {items}"): they
# label the training phrasing, the reader never matches them.
# (Chinese phrasings state them too: 订单{oid}不需要了，取消吧.)
REASON_WORDS = {"no longer needed": ("no longer need", "don't need", "not needed", "don't want", "won't be needing",
                                     "不需要了", "不再需要", "用不上", "用不到", "用不着"),
                "ordered by mistake": ("by mistake", "by accident", "accidental", "wrong order", "拍错", "买错",
                                       "下错", "点错", "误拍", "误下", "不小心下")}
BITEXT_PER_INTENT = 60  # Bitext is one source among several: enough of each intent, not a majority

FIRST = ["Jane", "Omar", "Mei", "Lucas", "Aisha", "Yusuf", "Sofia", "Ivan", "Chen", "Olivia", "Raj", "Emma"]
LAST = ["Doe", "Rossi", "Li", "Garcia", "Khan", "Smith", "Novak", "Wang", "Brown", "Silva", "Kim", "Moore"]
STREETS = ["Oak Street", "Maple Avenue", "Pine Road", "Cedar Lane", "Elm Drive", "Lake Boulevard", "Hill Way"]
CITIES = ["Austin, TX", "Denver, CO", "Boston, MA", "Seattle, WA", "Miami, FL", "Chicago, IL", "Phoenix, AZ"]
OPTIONS = ["blue", "size 10", "black", "leather", "large", "the 32GB one", "red", "medium", "waterproof", "silver"]
METHODS = ["paypal", "gift card", "credit card", "visa", "mastercard", "paypal account", "credit card ending 4421"]


@dataclass(frozen=True)
class Labelled:
    text: str
    request: str  # a RequestKind value or "none"
    move: str  # a Move value or "none"
    reason: str  # a Reason value or "none"
    source: str  # where the phrasing came from, kind.index
    context: str | None = None  # the agent's last question it was said after (an agent.reader.acts.Context value)


def product_words(store_file: Path) -> list[str]:
    """Product names as customers write them: 'hiking boots', 'boots', 'espresso machine'."""
    names = [p["name"].lower() for p in json.loads(store_file.read_text())["products"].values()]
    return names + [name.split()[-1] for name in names if " " in name]


def _values(rng: random.Random, products: list[str], reason: str) -> dict[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    product = rng.choice(products)
    listed = rng.sample(products, rng.randint(2, 5))
    items = ", ".join(listed[:-1]) + rng.choice([" and ", ", ", " and the "]) + listed[-1]
    low = rng.choice([20, 30, 50, 80, 100, 150, 200, 300])
    return {
        "oid": odd_order_id(f"#W{rng.randrange(10**6, 10**7)}", rng), "item": product, "product": product,
        "items": items,
        "email": f"{first.lower()}.{last.lower()}{rng.randrange(10, 9999)}@example.com", "first": first,
        "last": last, "zip": f"{rng.randrange(10000, 99999)}", "zip2": f"{rng.randrange(10000, 99999)}",
        "street": f"{rng.randrange(1, 999)} {rng.choice(STREETS)}", "city": rng.choice(CITIES),
        "price": str(low), "price2": str(low * 2), "last4": f"{rng.randrange(1000, 9999)}",
        "item_id": f"{rng.randrange(10**9, 10**10)}", "product_id": f"{rng.randrange(10**9, 10**10)}",
        "expr": f"{rng.randrange(2, 99)} * {rng.randrange(2, 9)}", "option": rng.choice(OPTIONS),
        "method": rng.choice(METHODS), "reason": reason,
    }


# The question each kind of answer replies to. Answers are said after their question most of the time and
# sometimes out of the blue; requests, moves and chat after any question or none, so the question alone never
# decides the reading (a customer may start a new request at any point).
ANSWER_CONTEXTS = {"identity": "identity", "order": "order", "item": "item", "option": "option", "address": "address",
                   "payment": "payment", "identity_email": "identity", "identity_name": "identity",
                   "give_order": "order", "give_item": "item", "give_option": "option", "give_address": "address",
                   "give_payment": "payment", "give_reason": "reason", "yes": "confirm", "no": "confirm",
                   "correction": "confirm", "only": "confirm", "other": "confirm", "reasons": "reason"}
IN_CONTEXT = 0.75  # of an answer's copies, the share said after its own question
QUESTIONS = ["confirm", "identity", "order", "item", "option", "address", "payment", "reason"]


def context_of(source: str, rng: random.Random) -> str | None:
    """The agent's question a phrasing of this kind is said after, drawn per copy."""
    kind = source.split(".")[-1]
    own = ANSWER_CONTEXTS.get(kind)
    if own and rng.random() < IN_CONTEXT:
        return own
    return rng.choice(QUESTIONS) if rng.random() < 0.3 else None


def _split_of(index: int, count: int) -> str:
    dev = {i for i in range(count) if i % DEV_EVERY == DEV_EVERY - 1} or {count - 1}
    return "dev" if index in dev else "train"


def _phrasings() -> list[tuple[str, list[str], str | None, str]]:
    """(source kind, templates, request, move) for every kind of both banks."""
    kinds = [(f"templates.{k}", v, TEMPLATE_REQUESTS[k], TEMPLATE_MOVES.get(k, NONE))
             for k, v in TEMPLATES["templates"].items()]
    for name, bank in BANKS.items():
        kinds += [(f"{name}.requests.{k}", v, k, NONE) for k, v in bank.get("requests", {}).items()]
        kinds += [(f"{name}.answers.{k}", v, None, NONE) for k, v in bank.get("answers", {}).items()]
        kinds += [(f"{name}.moves.{k}", v, None, k) for k, v in bank.get("moves", {}).items()]
    return kinds


def _reasons() -> list[tuple[str, str]]:
    said = [(key, words) for key, phrasings in TEMPLATES["reasons"].items() for words in phrasings]
    return said + [(key, words) for bank in BANKS.values() for key, phrasings in bank.get("reasons", {}).items()
                   for words in phrasings]


def _reason_stated(template: str) -> str:
    lowered = template.lower()
    return next((key for key, words in REASON_WORDS.items() if any(w in lowered for w in words)), NONE)


def template_examples(split: str, store_file: Path, seed: int, copies: int = 6) -> list[Labelled]:
    """Each phrasing of the split filled `copies` times with other values, typos and styles."""
    rng = random.Random(seed)
    asked = random.Random(seed + 1)  # its own draws: the phrasings' values are filled as without questions
    products = product_words(store_file)
    reasons = _reasons()
    examples: list[Labelled] = []
    for source, templates, request, move in _phrasings():
        for index, template in enumerate(templates):
            if _split_of(index, len(templates)) != split:
                continue
            for _ in range(copies):
                reason_key, reason_words = rng.choice(reasons)
                text = fill(template, rng, **_values(rng, products, reason_words))
                reason = reason_key if "{reason}" in template else _reason_stated(template)
                examples.append(Labelled(text, request or NONE, move, reason, f"{source}.{index}",
                                         context_of(source, asked)))
    for name, bank in BANKS.items():  # a bare reason, answering "why?"
        for key, phrasings in bank.get("reasons", {}).items():
            for index, words in enumerate(phrasings):
                if _split_of(index, len(phrasings)) == split:
                    examples.append(Labelled(words, NONE, NONE, key, f"{name}.reasons.{key}.{index}",
                                             context_of("reasons", asked)))
    return examples


def bitext_labelled(data_dir: Path, split: str, seed: int) -> list[Labelled]:
    path = data_dir / BITEXT_FILE
    if not path.is_file():
        return []
    rng = random.Random(seed)
    by_intent: dict[str, list[dict[str, str]]] = {}
    for row in read_bitext(path):
        if half_of(row["instruction"], seed) == split and row["intent"] not in BITEXT_LEFT_OUT:
            by_intent.setdefault(row["intent"], []).append(row)
    examples = []
    for intent, rows in sorted(by_intent.items()):
        for row in rng.sample(rows, min(BITEXT_PER_INTENT, len(rows))):
            text = row["instruction"].strip().replace("{{Order Number}}", f"#W{rng.randrange(10**6, 10**7)}")
            examples.append(Labelled(text, BITEXT_REQUESTS.get(intent, "out_of_scope"), NONE, NONE,
                                     f"bitext.{intent}"))
    return examples


def reader_examples(split: str, store_file: Path, data_dir: Path | None, seed: int = 7) -> list[Labelled]:
    examples = template_examples(split, store_file, seed)
    if data_dir is not None:
        examples += bitext_labelled(data_dir, split, seed)
    return examples

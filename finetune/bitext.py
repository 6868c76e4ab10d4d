"""Bitext customer-support utterances as routing examples: each intent mapped to the tool or flow it starts.

Intents the store's tools cannot serve (accounts, passwords, invoices, newsletters, ...) go to a person.
The utterances are split in halves by a seeded hash: the train half adds real phrasing to the training data,
the dev half is the routing benchmark (and a held-out file of the same source can be routed the same way).
"""

from __future__ import annotations

import csv
import hashlib
import random
from pathlib import Path
from typing import Any

from agent import toolcall

BITEXT_FILE = Path("support") / "bitext_customer_support.csv"
HUMAN = "transfer_to_human_agents"

ROUTES = {
    "track_order": "get_order_details",
    "delivery_period": "predict_delivery",
    "track_refund": "get_order_details",
    "cancel_order": "cancel_pending_order",
    "change_order": "modify_pending_order_items",
    "change_shipping_address": "modify_pending_order_address",
    "set_up_shipping_address": "modify_user_address",
    "get_refund": "return_delivered_order_items",
    "place_order": "search_products",
    "check_payment_methods": "get_user_details",
}  # every other intent (complaint, contact_human_agent, account, invoice, ...) is out of scope: a person


def route_of(intent: str) -> str:
    return ROUTES.get(intent, HUMAN)


def read_bitext(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [row for row in csv.DictReader(fh) if row.get("instruction", "").strip()]


def half_of(text: str, seed: int) -> str:
    digest = int(hashlib.sha256(f"{seed}:{text.strip().lower()}".encode()).hexdigest()[:8], 16)
    return "dev" if digest % 2 else "train"


def bitext_examples(data_dir: Path, split: str, seed: int, path: Path | None = None) -> list[Any]:
    """Single-message examples (no history) for one half; `path` routes a whole other file of the same format."""
    from finetune.data import Example

    rows = read_bitext(path or data_dir / BITEXT_FILE)
    if path is None:
        rows = [r for r in rows if half_of(r["instruction"], seed) == split]
    return [
        Example(messages=toolcall.messages([], row["instruction"].strip(), list_tools=False),
                target={"tool": route_of(row["intent"]), "arguments": {}}, family="bitext",
                template=f"bitext.{row['intent']}", customer=None, order=None, split=split)
        for row in rows
    ]


def per_intent(examples: list[Any], count: int, seed: int) -> list[Any]:
    """About `count` examples with every intent equally represented (the rare routes are learned as well)."""
    by_intent: dict[str, list[Any]] = {}
    for example in examples:
        by_intent.setdefault(example.template, []).append(example)
    share = max(1, count // max(1, len(by_intent)))
    rng = random.Random(seed)
    return [e for _, group in sorted(by_intent.items()) for e in rng.sample(group, min(share, len(group)))]

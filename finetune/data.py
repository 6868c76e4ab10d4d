"""Training data for the tool-call model: store-grounded conversations in the agent's exact prompt format.

Each conversation is a script of customer messages (templates × store slot values × noise) with the tool call
that answers each one. The script is played against the real agent on a scratch copy of the demo store, so the
history the model sees before each message — the tools the store ran, their real results and the replies — is
what production shows it. One example per customer message: the chat (agent/toolcall.py) and the target call.

Split: templates are train or dev by position (see templates.toml), customers by a seeded hash, so dev measures
new phrasings for new customers and orders. Bitext utterances add real phrasing (train half only).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from agent import toolcall
from agent.toolcall import NO_TOOL, ToolCall
from finetune.bitext import bitext_examples

TEMPLATES = tomllib.loads((Path(__file__).parent / "templates.toml").read_text())
DEV_EVERY = 5  # every fifth template of a kind is a dev template
DEV_CUSTOMER_SHARE = 0.2


@dataclass
class Step:
    user: str
    target: ToolCall
    template: str  # kind.index, for the split and the leakage check


@dataclass
class Example:
    messages: list[dict[str, str]]
    target: dict[str, Any]
    family: str
    template: str
    customer: str | None
    order: str | None
    split: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


@dataclass
class Script:
    family: str
    split: str
    customer: dict[str, Any] | None
    order: str | None
    steps: list[Step] = field(default_factory=list)
    signed_in: bool = False  # the storefront passed a signed customer token: verified from the start


# ---------------------------------------------------------------------------------- the store's world


class World:
    """The demo store's customers, orders and products, for picking slot values."""

    def __init__(self, db: dict[str, Any], seed: int) -> None:
        self.db = db
        self.users = sorted(db["users"])
        self.products = list(db["products"].values())
        self.split_of = {u: ("dev" if _share(u, seed) < DEV_CUSTOMER_SHARE else "train") for u in self.users}

    def customers(self, split: str) -> list[str]:
        return [u for u in self.users if self.split_of[u] == split]

    def orders(self, user_id: str, status: str | None = None) -> list[dict[str, Any]]:
        found = [self.db["orders"][o] for o in self.db["users"][user_id]["orders"] if o in self.db["orders"]]
        return [o for o in found if status is None or o["status"] == status]


def _share(key: str, seed: int) -> float:
    return int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


# ---------------------------------------------------------------------------------- phrasing


def pick_template(kind: str, split: str, rng: random.Random) -> tuple[str, str]:
    templates = TEMPLATES["templates"][kind]
    dev = {i for i in range(len(templates)) if i % DEV_EVERY == DEV_EVERY - 1} or {len(templates) - 1}
    options = [(i, t) for i, t in enumerate(templates) if (i in dev) == (split == "dev")]
    index, text = rng.choice(options)
    return text, f"{kind}.{index}"


def odd_order_id(order_id: str, rng: random.Random) -> str:
    digits = order_id.removeprefix("#W")
    return rng.choice([order_id, order_id, f"W{digits}", f"#w{digits}", f"# W{digits}", f"order number {digits}",
                       f"#{digits}", f"W-{digits}"])


def noisy(text: str, rng: random.Random, casing: bool = True) -> str:
    """Typos, casing, terse and chatty styles: how customers really type. Typos go into the template's words
    (see `fill`), never into slot values: the call copies what the customer wrote."""
    if casing and rng.random() < 0.15:
        text = text.lower()
    if rng.random() < 0.15:
        text = rng.choice(["hey, ", "hello! ", "hi there, ", "ok so ", "um, "]) + text
    if rng.random() < 0.1:
        text += rng.choice([" thanks", " thx", " please help", " :)", "!!", " asap"])
    if rng.random() < 0.1:
        text = text.rstrip("?.!")
    return text


def _typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if w.isalpha() and len(w) > 4]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:] if rng.random() < 0.5 else w[:j] + w[j + 1:]
    return " ".join(words)


def fill(template: str, rng: random.Random, casing: bool = True, **slots: Any) -> str:
    if rng.random() < 0.25:
        template = _typo(template, rng)
    return noisy(template.format(**slots), rng, casing)


# ---------------------------------------------------------------------------------- scripts per flow


def identity_steps(script: Script, rng: random.Random) -> list[Step]:
    user = script.customer
    assert user is not None
    if rng.random() < 0.6:
        text, tid = pick_template("identity_email", script.split, rng)
        email = user["email"].upper() if rng.random() < 0.1 else user["email"]
        return [Step(fill(text, rng, email=email), ToolCall("find_user_id_by_email", {"email": email}), tid)]
    text, tid = pick_template("identity_name", script.split, rng)
    name, zip_code = user["name"], user["address"]["zip"]
    first, last = name["first_name"], name["last_name"]
    if rng.random() < 0.15:
        first, last = first.lower(), last.lower()
    call = ToolCall("find_user_id_by_name_zip", {"first_name": first, "last_name": last, "zip": zip_code})
    return [Step(fill(text, rng, casing=False, first=first, last=last, zip=zip_code), call, tid)]


ORDER_TOOLS = {
    "order_status": ("get_order_details", None),
    "arrival": ("predict_delivery", "processed"),
    "cancel": ("cancel_pending_order", "pending"),
    "return": ("return_delivered_order_items", "delivered"),
    "exchange": ("exchange_delivered_order_items", "delivered"),
    "modify_items": ("modify_pending_order_items", "pending"),
    "change_address": ("modify_pending_order_address", "pending"),
    "change_payment": ("modify_pending_order_payment", "pending"),
}


def order_script(world: World, kind: str, split: str, rng: random.Random) -> Script | None:
    """A request about one of the customer's orders: request, identity, missing details, confirmation."""
    tool, status = ORDER_TOOLS[kind]
    user_id = rng.choice(world.customers(split))
    orders = world.orders(user_id, status)
    if not orders:
        return None
    order = rng.choice(orders)
    user = world.db["users"][user_id]
    script = Script(f"order:{kind}", split, user, order["order_id"], signed_in=rng.random() < 0.25)
    if rng.random() < 0.2:
        script.steps.append(_simple("greeting", split, rng))
    args: dict[str, Any] = {}
    with_id = rng.random() < 0.75 or f"{kind}_no_id" not in TEMPLATES["templates"]
    reason_key = rng.choice(list(TEMPLATES["reasons"]))
    slots = _order_slots(order, rng, reason_key)
    template, tid = pick_template(kind if with_id else f"{kind}_no_id", split, rng)
    if with_id:
        args["order_id"] = order["order_id"]
    if kind == "cancel" and "{reason}" in template:
        args["reason"] = reason_key
    if kind == "change_address" and "{street}" in template:
        args.update(slots["address_args"])
    script.steps.append(Step(fill(template, rng, **slots["text"]), ToolCall(tool, dict(args)), tid))
    if not script.signed_in:
        script.steps += identity_steps(script, rng)
    if "order_id" not in args:
        text, tid = pick_template("give_order", split, rng)
        args["order_id"] = order["order_id"]
        script.steps.append(Step(fill(text, rng, oid=slots["text"]["oid"]), ToolCall(tool, dict(args)), tid))
    if kind == "cancel" and "reason" not in args:
        text, tid = pick_template("give_reason", split, rng)
        args["reason"] = reason_key
        script.steps.append(Step(fill(text, rng, reason=slots["text"]["reason"]), ToolCall(tool, dict(args)), tid))
    if kind not in ("order_status", "arrival"):
        script.steps.append(_confirmation(split, rng, ToolCall(tool, dict(args)), order, world))
    if rng.random() < 0.5:
        script.steps.append(_simple("thanks", split, rng))
    return script


def _order_slots(order: dict[str, Any], rng: random.Random, reason_key: str) -> dict[str, Any]:
    street, city, zip2 = _new_address(rng)
    item = rng.choice(order["items"])["name"].lower()
    reason = rng.choice(TEMPLATES["reasons"][reason_key])
    return {
        "text": {"oid": odd_order_id(order["order_id"], rng), "item": item, "street": street, "city": city,
                 "zip2": zip2, "reason": reason},
        "address_args": {"address1": street, "city": city, "zip": zip2},
    }


def _new_address(rng: random.Random) -> tuple[str, str, str]:
    street = f"{rng.randint(10, 999)} {rng.choice(['Oak', 'Maple', 'Pine', 'Cedar', 'Elm', 'Lake'])} " \
             f"{rng.choice(['Street', 'Avenue', 'Road', 'Lane'])}"
    city = rng.choice(["Austin", "Denver", "Seattle", "Boston", "Phoenix", "Chicago", "Portland"])
    return street, city, f"{rng.randint(10000, 99999)}"


def _confirmation(split: str, rng: random.Random, call: ToolCall, order: dict[str, Any], world: World) -> Step:
    """The customer's answer to "shall I go ahead?": yes restates the call, no is none, or a change of mind."""
    roll = rng.random()
    if roll < 0.6:
        text, tid = pick_template("yes", split, rng)
        return Step(noisy(text, rng), call, tid)
    if roll < 0.85:
        text, tid = pick_template("no", split, rng)
        return Step(noisy(text, rng), ToolCall(NO_TOOL), tid)
    text, tid = pick_template("order_status", split, rng)  # changed their mind: just the status instead
    oid = order["order_id"]
    return Step(fill(text, rng, oid=odd_order_id(oid, rng)), ToolCall("get_order_details", {"order_id": oid}), tid)


def account_script(world: World, kind: str, split: str, rng: random.Random) -> Script:
    user_id = rng.choice(world.customers(split))
    user = world.db["users"][user_id]
    script = Script(f"account:{kind}", split, user, None, signed_in=rng.random() < 0.3)
    template, tid = pick_template(kind, split, rng)
    # Slots drawn as for an order request (a stand-in order for a customer without one), so the seeded stream,
    # and with it the shipped adapter's data, stays reproducible.
    slots = _order_slots(rng.choice(world.orders(user_id)) if world.orders(user_id) else {"order_id": "#W0000000",
                         "items": [{"name": "item"}]}, rng, "no longer needed")
    tool = "get_user_details" if kind == "account" else "modify_user_address"
    args = dict(slots["address_args"]) if "{street}" in template else {}
    if script.signed_in:
        args = {"user_id": user_id, **args}
    script.steps.append(Step(fill(template, rng, **slots["text"]), ToolCall(tool, dict(args)), tid))
    if not script.signed_in:
        script.steps += identity_steps(script, rng)
        args = {"user_id": user_id, **args}
        if kind == "account":  # once verified, the request itself goes on with the customer's id
            text, tid = pick_template("account", split, rng)
            script.steps.append(Step(noisy(text, rng), ToolCall(tool, dict(args)), tid))
    if kind == "change_user_address":
        script.steps.append(_confirmation_user(split, rng, ToolCall(tool, dict(args))))
    return script


def _confirmation_user(split: str, rng: random.Random, call: ToolCall) -> Step:
    kind = "yes" if rng.random() < 0.7 else "no"
    text, tid = pick_template(kind, split, rng)
    return Step(noisy(text, rng), call if kind == "yes" else ToolCall(NO_TOOL), tid)


def catalogue_script(world: World, kind: str, split: str, rng: random.Random) -> Script:
    script = Script(f"catalogue:{kind}", split, None, None)
    if rng.random() < 0.3:
        script.steps.append(_simple("greeting", split, rng))
    product = rng.choice(world.products)
    template, tid = pick_template(kind, split, rng)
    name = product["name"].lower()
    price = rng.choice([30, 50, 100, 150, 200, 300, 500])
    item_id = rng.choice(list(product["variants"]))
    a, b = rng.randint(2, 9), round(rng.uniform(5, 500), 2)
    expr = rng.choice([f"{a} * {b}", f"{b} + {a}", f"{b} - {a}", f"{b} / {a}"])
    text = fill(template, rng, product=name, price=price, item_id=item_id, product_id=product["product_id"], expr=expr)
    call = {
        "search": ToolCall("search_products", {"query": name} | ({"max_price": float(price)} if "{price}" in template
                                                                  else {})),
        "product_types": ToolCall("list_all_product_types"),
        "item_details": ToolCall("get_item_details", {"item_id": item_id}),
        "product_details": ToolCall("get_product_details", {"product_id": product["product_id"]}),
        "calculate": ToolCall("calculate", {"expression": expr}),
        "recommend": ToolCall("recommend_products", _strategy(template)),
    }[kind]
    script.steps.append(Step(text, call, tid))
    if rng.random() < 0.4:
        script.steps.append(_simple("thanks", split, rng))
    return script


def _strategy(template: str) -> dict[str, str]:
    for words, strategy in (("similar", "similar"), ("alternative", "similar"), ("popular", "popular"),
                            ("with", "complementary")):
        if words in template:
            return {"strategy": strategy}
    return {}


def other_script(world: World, kind: str, split: str, rng: random.Random) -> Script:
    """Hand-offs, out-of-scope requests, small talk; and a verified customer asking about someone else's order."""
    script = Script(f"other:{kind}", split, None, None)
    if kind == "foreign_order":
        owner, other = rng.sample(world.customers(split), 2)
        orders = world.orders(other)
        script.customer = world.db["users"][owner]
        script.signed_in = True
        oid = rng.choice(orders)["order_id"] if orders else "#W0000000"
        template, tid = pick_template("order_status", split, rng)
        text = fill(template, rng, oid=odd_order_id(oid, rng))
        script.steps.append(Step(text, ToolCall("get_order_details", {"order_id": oid}), tid))
        return script
    if kind in ("greeting", "small_talk") and rng.random() < 0.5:
        script.steps.append(_simple("greeting", split, rng))
    script.steps.append(_simple(kind, split, rng))
    return script


def _simple(kind: str, split: str, rng: random.Random) -> Step:
    text, tid = pick_template(kind, split, rng)
    tool = "transfer_to_human_agents" if kind in ("human", "out_of_scope") else NO_TOOL
    return Step(noisy(text, rng), ToolCall(tool), tid)


FAMILIES: list[tuple[Callable[..., Script | None], str, float]] = [
    (order_script, "order_status", 2.5), (order_script, "arrival", 2), (order_script, "cancel", 3),
    (order_script, "return", 2),
    (order_script, "exchange", 2), (order_script, "modify_items", 1.5), (order_script, "change_address", 1.5),
    (order_script, "change_payment", 1.5), (account_script, "account", 1.5),
    (account_script, "change_user_address", 1), (catalogue_script, "search", 2.5),
    (catalogue_script, "recommend", 1.2), (catalogue_script, "product_types", 0.5),
    (catalogue_script, "item_details", 0.7),
    (catalogue_script, "product_details", 0.7), (catalogue_script, "calculate", 0.5),
    (other_script, "human", 1), (other_script, "out_of_scope", 1), (other_script, "greeting", 0.6),
    (other_script, "small_talk", 0.6), (other_script, "foreign_order", 0.7),
]


def scripts(world: World, split: str, count: int, rng: random.Random) -> Iterator[Script]:
    weights = [w for _, _, w in FAMILIES]
    made = 0
    while made < count:
        build, kind, _ = rng.choices(FAMILIES, weights)[0]
        script = build(world, kind, split, rng)
        if script is not None:
            made += 1
            yield script


# ---------------------------------------------------------------------------------- playing against the agent


class Player:
    """Plays scripts against the real agent (no model: its flows) on a scratch copy of the demo store."""

    def __init__(self, store_db: Path | None = None) -> None:
        from agent.manager import Agent
        from server.services import open_retriever
        from tools.retail.loader import load_store
        from tools.store import Store, sqlite_url

        self.home = Path(tempfile.mkdtemp(prefix="shopagent-finetune-"))
        path = self.home / "store.db"
        if store_db is not None:
            shutil.copy(store_db, path)
        self.store = Store(sqlite_url(path))
        if store_db is None:
            self.store.create_schema()
            load_store(self.store)
        self.agent = Agent(self.store, retriever=open_retriever(self.store))

    def play(self, script: Script) -> list[Example]:
        customer_id = script.customer["user_id"] if script.customer and script.signed_in else None
        session, _ = self.agent.open_session(customer_id=customer_id, channel="finetune")
        examples = []
        for step in script.steps:
            rows = self.agent.conversations.messages(session.id, roles=("user", "tool", "assistant"))
            history = toolcall.past_turns(rows)
            verified = self.agent.conversations.state(session.id).customer_id
            examples.append(Example(
                messages=toolcall.messages(history, step.user, verified, list_tools=False),
                target={"tool": step.target.tool, "arguments": step.target.arguments},
                family=script.family, template=step.template,
                customer=script.customer["user_id"] if script.customer else None, order=script.order,
                split=script.split))
            for _ in self.agent.turn(session.id, step.user):
                pass
        return examples

    def close(self) -> None:
        self.store.dispose()
        shutil.rmtree(self.home, ignore_errors=True)


# ---------------------------------------------------------------------------------- the dataset


def build(out_dir: Path, data_dir: Path | None, train_conversations: int, dev_conversations: int,
          seed: int = 13, bitext_share: int = 300) -> dict[str, Any]:
    """Write train.jsonl and dev.jsonl (+ routing.jsonl from Bitext's dev half) and return their sizes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, Any] = {}
    for split, count in (("train", train_conversations), ("dev", dev_conversations)):
        examples = generate(split, count, seed)
        if split == "train" and data_dir is not None:
            bitext = bitext_examples(data_dir, "train", seed)
            examples += random.Random(seed).sample(bitext, min(bitext_share, len(bitext)))
        random.Random(seed).shuffle(examples)
        _write(out_dir / f"{split}.jsonl", examples)
        sizes[split] = {"examples": len(examples), "conversations": count}
    if data_dir is not None:
        routing = bitext_examples(data_dir, "dev", seed)
        _write(out_dir / "routing.jsonl", routing)
        sizes["routing"] = {"examples": len(routing)}
    (out_dir / "sizes.json").write_text(json.dumps(sizes, indent=2))
    return sizes


def generate(split: str, conversations: int, seed: int = 13) -> list[Example]:
    """One split's examples; each split has its own seeded stream, so dev is the same whatever train's size."""
    from tools.retail.loader import DEMO_STORE_JSON

    world = World(json.loads(Path(DEMO_STORE_JSON).read_text()), seed)
    rng = random.Random(f"{seed}:{split}")
    player = Player()
    try:
        examples: list[Example] = []
        for script in tqdm(list(scripts(world, split, conversations, rng)), desc=f"{split} conversations"):
            examples += player.play(script)
        return examples
    finally:
        player.close()


def _write(path: Path, examples: list[Example]) -> None:
    with path.open("w") as fh:
        for example in examples:
            fh.write(example.to_json() + "\n")


def read(path: Path) -> list[dict[str, Any]]:
    with path.open() as fh:
        return [json.loads(line) for line in fh if line.strip()]


_ID = re.compile(r"#?W\d{7}|\b\d{10}\b|[\w.+-]+@[\w-]+\.[\w.]+")


def leakage(train: list[dict[str, Any]], dev: list[dict[str, Any]]) -> dict[str, int]:
    """What dev shares with train: templates, customers, orders, identical customer messages (all should be 0)."""
    def keys(rows: list[dict[str, Any]], field_: str) -> set[Any]:
        return {r[field_] for r in rows if r.get(field_) and r["family"] != "bitext"}

    def last(rows: list[dict[str, Any]]) -> set[str]:
        return {r["messages"][-1]["content"].lower() for r in rows}

    return {
        "templates": len(keys(train, "template") & keys(dev, "template")),
        "customers": len(keys(train, "customer") & keys(dev, "customer")),
        "orders": len(keys(train, "order") & keys(dev, "order")),
        "messages_with_ids": len({m for m in last(train) & last(dev) if _ID.search(m)}),
    }

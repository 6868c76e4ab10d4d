"""Training data for the tool-call model: store-grounded conversations in the agent's exact prompt format.

Each conversation opens with scripted customer messages (templates × store slot values × noise); for an order or
account request the customer then answers whatever the agent asks (finetune/customer.py). It is played against the
real agent on a scratch copy of the demo store, so the history the model sees before each message — the tools the
store ran, their real results and the replies — is what production shows it. One example per customer message:
the chat (agent/toolcall.py) and the tool call that answers it.

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
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from agent import toolcall
from agent.toolcall import NO_TOOL, ToolCall
from finetune.bitext import bitext_examples, per_intent
from finetune.customer import Customer, Request
from finetune.phrasing import TEMPLATES, Step, fill, noisy, odd_order_id, pick_template

DEV_CUSTOMER_SHARE = 0.2


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
    steps: list[Step] = field(default_factory=list)  # the opening messages, said in order
    signed_in: bool = False  # the storefront passed a signed customer token: verified from the start
    request: Request | None = None  # an order or account request: the customer then answers the agent's questions


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


# ---------------------------------------------------------------------------------- scripts per flow


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


def order_script(world: World, kind: str, split: str, rng: random.Random) -> Script:
    """A request about one of the customer's orders; the customer then answers what the agent asks."""
    tool, status = ORDER_TOOLS[kind]
    user_id = rng.choice([u for u in world.customers(split) if world.orders(u, status)])
    orders = world.orders(user_id, status)
    order = rng.choice(orders)
    user = world.db["users"][user_id]
    script = Script(f"order:{kind}", split, user, order["order_id"], signed_in=rng.random() < 0.25)
    if rng.random() < 0.2:
        script.steps.append(_simple("greeting", split, rng))
    with_id = rng.random() < 0.75 or f"{kind}_no_id" not in TEMPLATES["templates"]
    reason_key = rng.choice(list(TEMPLATES["reasons"]))
    text, address = _slots(rng, item=rng.choice(order["items"])["name"].lower(),
                           oid=odd_order_id(order["order_id"], rng),
                           reason=rng.choice(TEMPLATES["reasons"][reason_key]))
    restate = kind if with_id else f"{kind}_no_id"
    template, tid = pick_template(restate, split, rng)
    args: dict[str, Any] = {"order_id": order["order_id"]} if with_id else {}
    if kind == "cancel" and "{reason}" in template:
        args["reason"] = reason_key
    if kind == "change_address":
        args.update(stated_address(address, template))
    script.steps.append(Step(fill(template, rng, **text), ToolCall(tool, dict(args)), tid))
    script.request = Request(ToolCall(tool, args), restate, text, order_id=order["order_id"], reason=reason_key,
                             address=stated_address(address))
    return script


CITIES = [("Austin", "TX"), ("Denver", "CO"), ("Seattle", "WA"), ("Boston", "MA"), ("Phoenix", "AZ"),
          ("Chicago", "IL"), ("Portland", "OR")]


def _slots(rng: random.Random, **text: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Slot texts (with a new address) and, per address slot, the tool arguments that slot states."""
    street = f"{rng.randint(10, 999)} {rng.choice(['Oak', 'Maple', 'Pine', 'Cedar', 'Elm', 'Lake'])} " \
             f"{rng.choice(['Street', 'Avenue', 'Road', 'Lane'])}"
    city, state = rng.choice(CITIES)
    zip_code = f"{rng.randint(10000, 99999)}"
    address = {"street": {"address1": street}, "city": {"city": city, "state": state}, "zip2": {"zip": zip_code}}
    return {**text, "street": street, "city": f"{city}, {state}", "zip2": zip_code}, address


def stated_address(address: dict[str, dict[str, str]], template: str | None = None) -> dict[str, str]:
    """The address fields a template states (all of them without one): only those become arguments."""
    return {arg: value for slot, args in address.items() if template is None or "{" + slot + "}" in template
            for arg, value in args.items()}


def account_script(world: World, kind: str, split: str, rng: random.Random) -> Script:
    user_id = rng.choice(world.customers(split))
    user = world.db["users"][user_id]
    script = Script(f"account:{kind}", split, user, None, signed_in=rng.random() < 0.3)
    template, tid = pick_template(kind, split, rng)
    text, address = _slots(rng, oid="", item="", reason="")
    tool = "get_user_details" if kind == "account" else "modify_user_address"
    args = stated_address(address, template)
    if script.signed_in:
        args = {"user_id": user_id, **args}
    script.steps.append(Step(fill(template, rng, **text), ToolCall(tool, dict(args)), tid))
    script.request = Request(ToolCall(tool, args), kind, text, address=stated_address(address),
                             account_tool=True)
    return script


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


FAMILIES: list[tuple[Callable[..., Script], str, float]] = [
    (order_script, "order_status", 2), (order_script, "arrival", 2), (order_script, "cancel", 2),
    (order_script, "return", 1.7), (order_script, "exchange", 1.7), (order_script, "modify_items", 1.4),
    (order_script, "change_address", 1.4), (order_script, "change_payment", 2.2), (account_script, "account", 1.5),
    (account_script, "change_user_address", 1), (catalogue_script, "search", 1.8),
    (catalogue_script, "recommend", 1.2), (catalogue_script, "product_types", 0.8),
    (catalogue_script, "item_details", 1.2), (catalogue_script, "product_details", 1.4),
    (catalogue_script, "calculate", 0.9), (other_script, "human", 1), (other_script, "out_of_scope", 1),
    (other_script, "greeting", 0.8), (other_script, "small_talk", 0.9), (other_script, "foreign_order", 0.7),
]


def scripts(world: World, split: str, count: int, rng: random.Random) -> Iterator[Script]:
    weights = [w for _, _, w in FAMILIES]
    for _ in range(count):
        build, kind, _ = rng.choices(FAMILIES, weights)[0]
        yield build(world, kind, split, rng)


# ---------------------------------------------------------------------------------- playing against the agent


class Player:
    """Plays scripts against the real agent (no model: its flows) on a scratch copy of the demo store."""

    def __init__(self, store_db: Path | None = None) -> None:
        from agent.manager import Agent, AgentConfig
        from server.services import open_retriever
        from tools.context import IdentityPolicy
        from tools.retail.loader import load_store
        from tools.store import Store, sqlite_url

        self.home = Path(tempfile.mkdtemp(prefix="shopagent-finetune-"))
        path = self.home / "store.db"
        if store_db is not None:
            shutil.copy(store_db, path)
        self.store = Store(sqlite_url(path))
        if store_db is None:
            self.store.migrate()
            load_store(self.store)
        # The training conversations teach the flows' own behaviour; risk holds are staff policy, kept out of them.
        # Played as the tau2 tasks are: the customer is identified by email or name + zip (the benchmark policy).
        self.agent = Agent(self.store, retriever=open_retriever(self.store), config=AgentConfig(risk_rules=None),
                           identity=IdentityPolicy.BENCHMARK)

    def play(self, script: Script, rng: random.Random) -> list[Example]:
        """One example per customer message: the opening messages, then the customer's answers to the agent."""
        customer_id = script.customer["user_id"] if script.customer and script.signed_in else None
        session, _ = self.agent.open_session(customer_id=customer_id, channel="finetune")
        customer = Customer(script.customer, script.split, script.request, rng) if script.request else None
        steps, examples = list(script.steps), []
        while steps:
            step = steps.pop(0)
            examples.append(self.example(session.id, script, step))
            for _ in self.agent.turn(session.id, step.user):
                pass
            if not steps and customer is not None:
                reply = self.agent.conversations.messages(session.id, roles=("assistant",))[-1].text
                confirming = self.agent.conversations.state(session.id).pending is not None
                steps += [answer] if (answer := customer.answer(reply, confirming)) else []
        return examples

    def example(self, session_id: str, script: Script, step: Step) -> Example:
        """The chat as the model sees it before this message, and the call that answers the message."""
        rows = self.agent.conversations.messages(session_id, roles=("user", "tool", "assistant"))
        state = self.agent.conversations.state(session_id)
        return Example(
            messages=toolcall.messages(toolcall.past_turns(rows), step.user, state.customer_id, list_tools=False,
                                       request=toolcall.open_request(state)),
            target={"tool": step.target.tool, "arguments": step.target.arguments},
            family=script.family, template=step.template,
            customer=script.customer["user_id"] if script.customer else None, order=script.order,
            split=script.split)

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
            examples += per_intent(bitext, bitext_share, seed)
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
        for n, script in enumerate(tqdm(list(scripts(world, split, conversations, rng)),
                                        desc=f"{split} conversations")):
            examples += player.play(script, random.Random(f"{seed}:{split}:{n}"))  # the answers' own stream
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

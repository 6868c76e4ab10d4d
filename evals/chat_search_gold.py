"""Fill in the satisfying item ids of the chat-search queries from the catalogue (db.json), and check them.

Each query line of `evals/data/chat_search/*.jsonl` states what the shopper wants in catalogue terms: the
products that fit (`products`), option values (`options`: key -> value or list of values), price bounds
(`min_price`, `max_price`), and for "which is cheapest?" a `pick` ("cheapest" or "cheapest:N"). `relevant` is
then every item that meets all of it; for a line marked `no_match` (nothing meets everything, which is checked)
it is the closest items: those of the products meeting the most constraints.

    python -m evals.chat_search_gold --db ../shared/data/tau2-retail/db.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

QUERY_DIR = Path(__file__).parent / "data" / "chat_search"
QUERY_FILES = ("en.jsonl", "en_heldout.jsonl", "zh.jsonl", "zh_dev.jsonl")


def catalogue_items(db: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"item_id": item["item_id"], "name": product["name"], "options": item["options"],
             "price": float(item["price"])}
            for product in db["products"].values() for item in product["variants"].values()]


def constraints_met(item: dict[str, Any], query: dict[str, Any]) -> int:
    options = {key.lower(): str(value).lower() for key, value in item["options"].items()}
    met = 0
    for key, wanted in query.get("options", {}).items():
        allowed = {str(v).lower() for v in (wanted if isinstance(wanted, list) else [wanted])}
        met += options.get(key.lower()) in allowed
    met += "min_price" in query and item["price"] >= query["min_price"]
    met += "max_price" in query and item["price"] <= query["max_price"]
    return met


def constraint_count(query: dict[str, Any]) -> int:
    return len(query.get("options", {})) + ("min_price" in query) + ("max_price" in query)


def relevant_items(items: list[dict[str, Any]], query: dict[str, Any]) -> tuple[list[str], bool]:
    """The satisfying item ids, and whether nothing meets every constraint (then the closest ids)."""
    of_products = [item for item in items if item["name"] in query["products"]]
    if not of_products:
        raise ValueError(f"{query['id']}: no product named {query['products']}")
    scored = [(constraints_met(item, query), item) for item in of_products]
    exact = [item for met, item in scored if met == constraint_count(query)]
    if not exact:
        best = max(met for met, _ in scored)
        return sorted(item["item_id"] for met, item in scored if met == best), True
    pick = query.get("pick")
    if pick:
        count = int(pick.partition(":")[2] or 1)
        exact = sorted(exact, key=lambda item: item["price"])[:count]
    return sorted(item["item_id"] for item in exact), False


def fill(path: Path, items: list[dict[str, Any]]) -> list[str]:
    """Rewrite the file with `relevant` filled in; returns the problems found (a wrong no_match mark)."""
    problems, lines = [], []
    for raw in path.read_text().splitlines():
        if not raw.strip():
            continue
        query = json.loads(raw)
        relevant, no_match = relevant_items(items, query)
        if no_match != bool(query.get("no_match")):
            problems.append(f"{path.name} {query['id']}: no_match should be {no_match}")
        query["relevant"] = relevant
        lines.append(json.dumps(query, ensure_ascii=False))  # zh.jsonl stays readable
    path.write_text("\n".join(lines) + "\n")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="the store's db.json (tau2 retail shape)")
    args = parser.parse_args()
    items = catalogue_items(json.loads(args.db.read_text()))
    problems = [p for name in QUERY_FILES for p in fill(QUERY_DIR / name, items)]
    for problem in problems:
        print(problem)
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()

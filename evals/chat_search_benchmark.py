"""Chat search against `shopagent search`: the same shopper words through the chat and through the retriever.

Each query (evals/data/chat_search/*.jsonl, gold item ids from evals/chat_search_gold.py) is typed into a new
conversation with an unverified customer, turn by turn; the cards of the last reply are scored. The CLI's path is
the retriever itself, given all the turns' words at once (it has no conversation).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.replies import templates

TOP = 3  # a satisfying item among the first three cards
QUERY_DIR = Path(__file__).parent / "data" / "chat_search"
# Replies recognised by their fixed wording (the text of the template up to its first slot).
HONEST_NO_MATCH_KEYS = ("search_closest",)
IDENTITY_KEYS = ("ask_identity", "ask_identity_code", "ask_zip")
NOT_UNDERSTOOD_KEYS = ("misunderstood", "offer_human")
ERROR_KEYS = ("tool_failed", "apology")


@dataclass
class QueryRun:
    id: str
    turns: list[str]
    no_match: bool
    chat_cards: list[str]
    cli_items: list[str]
    chat_hit: bool
    cli_hit: bool
    reply: str
    no_card: bool
    identity_asked: bool
    not_understood: bool
    raw_error: bool
    honest_no_match: bool  # the reply says that nothing meets every constraint
    suggestion_in_cards: bool = False  # the unasked suggestion's item is one of the result cards
    tools: list[str] = field(default_factory=list)


def load_queries(path: Path, limit: int = 0) -> list[dict[str, Any]]:
    queries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return queries[:limit] if limit else queries


def _fixed_part(key: str) -> str:
    return templates()[key].split("{", 1)[0].strip()


def says(reply: str, keys: tuple[str, ...]) -> bool:
    return any(_fixed_part(key) and _fixed_part(key) in reply for key in keys)


def chat_query(agent: Any, query: dict[str, Any]) -> QueryRun:
    """The query typed into a new conversation, turn by turn; the last reply is scored."""
    session, _ = agent.open_session(channel="eval")
    events: list[Any] = []
    for text in query["turns"]:
        events = list(agent.turn(session.id, text))
    reply = next((e.data["text"] for e in events if e.type == "message"), "")
    cards = next((e.data["products"] for e in events if e.type == "products"), [])
    suggestion = next((e.data for e in events if e.type == "suggestion"), None)
    errors = [e.data["error"] for e in events if e.type == "tool_finished" and not e.data["ok"] and e.data["error"]]
    card_ids = [card["item_id"] for card in cards]
    relevant = set(query["relevant"])
    suggested = ((suggestion or {}).get("product") or {}).get("item_id")
    return QueryRun(
        id=query["id"], turns=query["turns"], no_match=bool(query.get("no_match")), chat_cards=card_ids,
        cli_items=[], chat_hit=bool(relevant & set(card_ids[:TOP])), cli_hit=False, reply=reply,
        no_card=not card_ids, identity_asked=says(reply, IDENTITY_KEYS),
        not_understood=says(reply, NOT_UNDERSTOOD_KEYS),
        raw_error=says(reply, ERROR_KEYS) or any(error in reply for error in errors),
        honest_no_match=says(reply, HONEST_NO_MATCH_KEYS),
        suggestion_in_cards=bool(suggested and suggested in card_ids),
        tools=[e.data["name"] for e in events if e.type == "tool_started"],
    )


def cli_items(retriever: Any, query: dict[str, Any]) -> list[str]:
    """What `shopagent search` shows first for the same words (all turns at once)."""
    return [hit.doc.doc_id for hit in retriever.search(" ".join(query["turns"]), k=TOP).hits]


def run_file(agent: Any, retriever: Any, queries: list[dict[str, Any]]) -> list[QueryRun]:
    runs = []
    for query in queries:
        run = chat_query(agent, query)
        run.cli_items = cli_items(retriever, query)
        run.cli_hit = bool(set(query["relevant"]) & set(run.cli_items))
        runs.append(run)
    return runs


def summary(runs: list[QueryRun]) -> dict[str, float]:
    count = max(len(runs), 1)
    no_match = [r for r in runs if r.no_match]
    matched = [r for r in runs if not r.no_match]
    chat_hit = sum(r.chat_hit for r in runs) / count
    cli_hit = sum(r.cli_hit for r in runs) / count
    return {
        "queries": len(runs),
        "chat_hit@3": chat_hit,
        "cli_hit@3": cli_hit,
        "chat_minus_cli_hit@3": chat_hit - cli_hit,
        "chat_hits": sum(r.chat_hit for r in runs),
        "cli_hits": sum(r.cli_hit for r in runs),
        "no_card": sum(r.no_card for r in runs),
        "identity_asked": sum(r.identity_asked for r in runs),
        "not_understood": sum(r.not_understood for r in runs),
        "raw_errors": sum(r.raw_error for r in runs),
        "suggestions_in_cards": sum(r.suggestion_in_cards for r in runs),
        "no_match_queries": len(no_match),
        "no_match_honest": sum(r.honest_no_match for r in no_match),
        "false_no_match": sum(r.honest_no_match for r in matched),
    }


def markdown(name: str, figures: dict[str, float], runs: list[QueryRun]) -> str:
    lines = [
        f"### `{name}`: {int(figures['queries'])} queries",
        "",
        f"- hit@{TOP}: chat **{figures['chat_hits']}/{figures['queries']} ({figures['chat_hit@3']:.1%})**, "
        f"CLI (the retriever) {figures['cli_hits']}/{figures['queries']} ({figures['cli_hit@3']:.1%})",
        f"- replies without a card {figures['no_card']}, asking for identity {figures['identity_asked']}, "
        f"\"not understood\" {figures['not_understood']}, raw error text {figures['raw_errors']}, "
        f"suggestions among the cards {figures['suggestions_in_cards']}",
        f"- no exact match: said so honestly {figures['no_match_honest']}/{figures['no_match_queries']}; "
        f"said so where something matched {figures['false_no_match']}",
        "",
    ]
    misses = [r for r in runs if not r.chat_hit or (r.no_match and not r.honest_no_match)]
    if misses:
        lines += ["| query | chat cards (first 3) hit | CLI hit | reply (start) |", "|---|---|---|---|"]
        lines += [f"| {' / '.join(r.turns)} | {'yes' if r.chat_hit else 'no'} | {'yes' if r.cli_hit else 'no'} | "
                  f"{_cell(r.reply)} |" for r in misses]
        lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("\n", " ").replace("|", "/")[:110]


def as_details(runs: list[QueryRun]) -> list[dict[str, Any]]:
    return [asdict(r) for r in runs]

"""Feedback as training examples in the format `finetune/` reads (finetune/data.py's Example): the chat the model
saw before the customer's message, and a target.

- 👍 on a reply, and every reply of a conversation the customer called solved (and did not 👎): the target is the
  tool call the agent made for that message (`none` when it made none) — the tool-call model writes calls, the
  reply's words are built from the tools' results by code.
- A person's edit of a copilot draft: the target is `{"reply": the text sent, "draft": the suggestion}`; kept for
  a reply or draft model, `shopagent finetune --extra` counts and skips these (they are not calls).
- 👎 and "not solved": left out (never a target to imitate); their count is reported.

Everything is privacy-masked with the conversation's own masker (agent/privacy): emails, addresses, payment ids,
the customer's name and id, in the chat and in the target alike, so a masked id in a target is still a copy of the
chat. One transaction reads a consistent snapshot; the export is audited like the transcript export.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent import toolcall
from agent.feedback.tables import Feedback, FeedbackKind
from agent.memory import ChatMessage, ChatSession
from agent.privacy.mask import KnownValues
from agent.privacy.records import session_masker
from tools.retail.data_model import AuditEntry
from tools.store import Store

ENDORSING = (FeedbackKind.THUMBS_UP, FeedbackKind.SOLVED_YES)
REJECTING = (FeedbackKind.THUMBS_DOWN, FeedbackKind.SOLVED_NO)


def export_feedback(store: Store, out: Path, *, actor: str = "system") -> Counter[str]:
    """Write the examples (one JSON object a line) and return what was written and left out, by kind."""
    counts: Counter[str] = Counter()
    with store.transaction() as db, out.open("w", encoding="utf-8") as fh:
        rows = list(db.scalars(select(Feedback).order_by(Feedback.session_id, Feedback.id)))
        for session_id in dict.fromkeys(row.session_id for row in rows):
            for example in _session_examples(db, session_id, [r for r in rows if r.session_id == session_id], counts):
                fh.write(json.dumps(example, ensure_ascii=False) + "\n")
        db.add(AuditEntry(actor=actor, action="feedback_export", target_type="feedback", target_id="all",
                          arguments={"mode": "masked", **counts}))
    return counts


def _session_examples(db: Session, session_id: str, feedback: list[Feedback], counts: Counter[str]) -> list[dict]:
    session = db.get(ChatSession, session_id)
    messages = list(db.scalars(select(ChatMessage).where(ChatMessage.session_id == session_id)
                               .order_by(ChatMessage.id)))
    masker = session_masker(db, session)
    rejected = {f.message_id for f in feedback if f.kind == FeedbackKind.THUMBS_DOWN}
    counts.update(f.kind for f in feedback if f.kind in REJECTING)
    examples = [_edit_example(messages, f, masker) for f in feedback if f.kind == FeedbackKind.STAFF_EDIT]
    counts["staff_edit"] += len(examples)
    for message_id, kind in _endorsed(messages, feedback, rejected).items():
        example = _call_example(messages, message_id, kind, masker)
        counts[kind if example else f"{kind}_unusable"] += 1
        examples += [example] if example else []
    return examples


def _endorsed(messages: list[ChatMessage], feedback: list[Feedback], rejected: set[int]) -> dict[int, str]:
    """Replies to learn from: each 👍'd one, and every bot reply of a conversation called solved (but no 👎'd one)."""
    endorsed = {f.message_id: f.kind for f in feedback if f.kind == FeedbackKind.THUMBS_UP}
    if any(f.kind == FeedbackKind.SOLVED_YES for f in feedback):
        for message in messages:
            if _bot_reply(message) and message.id not in endorsed and message.id not in rejected:
                endorsed[message.id] = FeedbackKind.SOLVED_YES.value
    return {m.id: endorsed[m.id] for m in messages if m.id in endorsed and _bot_reply(m)}


def _bot_reply(message: ChatMessage) -> bool:
    return message.role == "assistant" and not (message.payload or {}).get("live")


def _turn(messages: list[ChatMessage], message_id: int) -> tuple[list[ChatMessage], ChatMessage, list[ChatMessage]]:
    """The rows before the turn that ends with `message_id`, its customer message and the rows in between."""
    end = next(i for i, m in enumerate(messages) if m.id == message_id)
    start = max((i for i in range(end) if messages[i].role == "user"), default=None)
    if start is None:
        raise LookupError("a reply with no customer message before it (the greeting)")
    return messages[:start], messages[start], messages[start + 1:end]


def _chat(before: list[ChatMessage], user: ChatMessage, masker: KnownValues) -> list[dict[str, str]]:
    """The chat as the model would have seen it; who was verified is not known afterwards, and stays out."""
    history = toolcall.past_turns([m for m in before if m.role in ("user", "tool", "assistant")])
    return masker.value(toolcall.messages(history, user.text, list_tools=False))


def _call_example(messages: list[ChatMessage], message_id: int, kind: str, masker: KnownValues) -> dict | None:
    try:
        before, user, between = _turn(messages, message_id)
    except LookupError:
        return None
    calls = [m for m in between if m.role == "tool" and not (m.payload or {}).get("staff_id")]
    target = {"tool": toolcall.NO_TOOL, "arguments": {}}
    if calls:
        payload = calls[0].payload or {}
        target = {"tool": payload.get("name", ""), "arguments": masker.value(payload.get("arguments") or {})}
    try:
        toolcall.parse(target)  # a flow's own step (e.g. the sign-in code) is no call the model may write
    except ValueError:
        return None
    return _example(_chat(before, user, masker), target, kind)


def _edit_example(messages: list[ChatMessage], edit: Feedback, masker: KnownValues) -> dict[str, Any]:
    sent = next(m for m in messages if m.id == edit.message_id)
    user_rows = [m for m in messages if m.role == "user" and m.id < sent.id]
    before = [m for m in messages if user_rows and m.id < user_rows[-1].id]
    chat = _chat(before, user_rows[-1], masker) if user_rows else []
    return _example(chat, {"reply": masker.text(sent.text), "draft": masker.text(edit.draft)}, edit.kind)


def _example(chat: list[dict[str, str]], target: dict[str, Any], kind: str) -> dict[str, Any]:
    return {"messages": chat, "target": target, "family": f"feedback:{kind}", "template": "feedback",
            "customer": None, "order": None, "split": "train"}

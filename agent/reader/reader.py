"""The one understanding step: a customer message as a dialogue act.

The act says what the message itself means; the flows read it against the dialogue state (a yes counts only at a
proposal, an answer completes the open request, only another action replaces a proposal). The learned classifiers
(agent/reader/model.py) read what the message asks and does; exact-copy extractors take the values a tool may use
(ids, emails, zips, names, addresses, amounts), so no value is ever invented. A message with several requests is
read clause by clause: clauses are cut at sentence ends and at joining words, and each clause that makes a request
of another kind starts a new one.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from agent.reader import extract
from agent.reader.acts import Context, DialogueAct, Move, Reason, RequestKind
from agent.reader.model import NONE, ReaderModel

MODEL_FILE = Path(__file__).parent / "reader.joblib"
# Below this probability the classifier's best request is no request: the message answers or chats.
REQUEST_THRESHOLD = 0.45
# A clause read alone has less to go on: it starts a request of its own only when it clearly makes one.
CLAUSE_THRESHOLD = 0.7
MOVE_THRESHOLD = 0.5
YES_THRESHOLD = 0.6  # a yes runs a state change: a weak one is no answer
REVISIONS = {Move.CORRECTION, Move.ONLY, Move.OTHER}
REASON_THRESHOLD = 0.8  # a reason is read clause by clause: "cancel #W..., I no longer need it"
# Requests that change an order or the account: a message can make several, each read from its own clause.
ACTIONS = {RequestKind.CANCEL, RequestKind.RETURN, RequestKind.EXCHANGE, RequestKind.CHANGE_ADDRESS,
           RequestKind.CHANGE_PAYMENT}
# Where one clause ends: a sentence end, or a joining word between clauses (structure, not request words); a line
# ends one too (an answer is read with the request it answers, one message a line, and a Chinese one often has no
# full stop: "我想把所有待处理的订单都取消" then "是我拍错了").
# (A break that starts with spaces starts where they start, `(?<!\s)`: one attempt per run, linear time.)
CLAUSE_BREAK = re.compile(r"(?<=[.!?;。！？；])\s*|(?<!\s)(?:\s*,)?\s+(?:and(?: also)?|also|plus|then|as well)\s+(?=\S)"
                          r"|(?<!\s)\s*[()（）]\s*|(?<!\s)\s+(?=(?:since|because)\b)"
                          r"|(?<!\s)\s*,\s*(?:and |also |then )?(?=i\b|i'd\b|i'm\b|my\b|can\b|could\b|please\b)"
                          r"|[，；]\s*"
                          r"|(?<!\s)\s*\n\s*",
                          re.I)


@dataclass(frozen=True)
class Reading:
    """One clause as the classifiers read it."""

    text: str
    request: RequestKind | None
    confidence: float


class Reader:
    def __init__(self, model: ReaderModel, embedder: object | None = None) -> None:
        self.model = model
        self.embedder = embedder
        self._lock = threading.Lock()  # one embedder and one set of heads serve every conversation

    def read(self, text: str, context: Context | None = None) -> DialogueAct:
        """The whole message, read after the agent's last question `context` (None: no question open): its
        requests in order, its moves and slots."""
        whole = self._predict([text], context)[0]
        clauses = self._clauses(text, context)  # read once: requests, revisions and the reason come from them
        act = DialogueAct(slots=extract.slots(text), language=extract.language(text))
        act.requests = [r.request for r in _requests(text, whole, clauses)]
        move, move_p = whole["move"]
        if move != NONE and move_p >= (YES_THRESHOLD if move == Move.YES else MOVE_THRESHOLD):
            act.moves = [Move(move)]
        act.moves += [m for m in _revisions(clauses) if m not in act.moves]
        act.slots.reason = _reason(clauses)
        return act

    def reason_in(self, text: str, context: Context | None = None) -> Reason | None:
        """The cancel reason a clause of the message states most clearly, if any states one."""
        return _reason(self._clauses(text, context))

    def requests_in(self, text: str, context: Context | None = None) -> list[Reading]:
        """The message's requests, each with the words that make it (see `_requests`)."""
        whole = self._predict([text], context)[0]
        single = len(clause_spans(text)) < 2  # nothing to read clause by clause
        return _requests(text, whole, Clauses([], []) if single else self._clauses(text, context))

    def _clauses(self, text: str, context: Context | None) -> Clauses:
        spans = clause_spans(text)
        return Clauses(spans, self._predict([text[a:b] for a, b in spans] or [text], context))

    def _predict(self, texts: list[str], context: Context | None = None) -> list[dict[str, tuple[str, float]]]:
        asked = [context.value if context else None] * len(texts)
        with self._lock:
            return self.model.predict(texts, self.embedder, asked)


def clause_spans(text: str) -> list[tuple[int, int]]:
    """Where each clause of the message starts and ends (the joining words belong to no clause)."""
    spans, start = [], 0
    for cut in CLAUSE_BREAK.finditer(text):
        if text[start:cut.start()].strip(" ,"):
            spans.append((start, cut.start()))
        start = max(start, cut.end())
    if text[start:].strip(" ,"):
        spans.append((start, len(text)))
    return spans


@dataclass(frozen=True)
class Clauses:
    """A message's clauses and how the classifiers read each (the whole text's reading when it has none)."""

    spans: list[tuple[int, int]]
    predicted: list[dict[str, tuple[str, float]]]


def _requests(text: str, whole: dict[str, tuple[str, float]], clauses: Clauses) -> list[Reading]:
    """One request per clause that starts a request of another kind than the one before (several of one kind stay
    one: "exchange the keyboard and the lamp"); one request, or none, is the whole message's reading."""
    first = _reading(text, whole)
    if len(clauses.spans) < 2:
        return [first] if first.request else []
    merged: list[tuple[int, int, RequestKind | None, float]] = []
    for (start, end), reading in zip(clauses.spans, clauses.predicted, strict=True):
        request = _reading(text[start:end], reading, CLAUSE_THRESHOLD).request
        if merged and (request is None or request == merged[-1][2] or request not in ACTIONS):
            merged[-1] = (merged[-1][0], end, merged[-1][2], merged[-1][3])  # details of the request before
        elif merged and merged[-1][2] is None:
            merged[-1] = (merged[-1][0], end, request, reading["request"][1])  # the words leading up to it
        else:
            merged.append((start, end, request, reading["request"][1]))
    readings = [Reading(text[a:b].strip(" ,"), request, p) for a, b, request, p in merged]
    actions = [r for r in readings if r.request in ACTIONS]
    wished = [r for r in readings if r.request not in {None, RequestKind.PROBLEM}]
    if first.request is RequestKind.PROBLEM and wished:  # "the boots look worn, I want a new pair": the wish
        first = Reading(text, wished[0].request, wished[0].confidence)
    if len(actions) < 2:  # one request: the whole message's reading is the better one
        return [first] if first.request else [r for r in readings if r.request][:1]
    return readings


def _revisions(clauses: Clauses) -> list[Move]:
    """The moves that revise a detail, read clause by clause ("I'll use PayPal, and only modify the backpack");
    a yes or a no is the whole message's, never one clause's ("yes, but only the lamp" is no yes)."""
    if len(clauses.spans) < 2:
        return []
    return list(dict.fromkeys(Move(label) for label, probability in (p["move"] for p in clauses.predicted)
                              if label in REVISIONS and probability >= MOVE_THRESHOLD))


def _reason(clauses: Clauses) -> Reason | None:
    stated = [p["reason"] for p in clauses.predicted if p["reason"][0] != NONE]
    label, probability = max(stated, key=lambda r: r[1], default=(NONE, 0.0))
    return Reason(label) if probability >= REASON_THRESHOLD else None


def _reading(text: str, predicted: dict[str, tuple[str, float]], threshold: float = 0.0) -> Reading:
    label, probability = predicted["request"]
    least = max(threshold, REQUEST_THRESHOLD)
    request = RequestKind(label) if label != NONE and probability >= least else None
    return Reading(text, request, probability)


@lru_cache(maxsize=1)
def default_reader() -> Reader:
    """The shipped reader, loaded once per process."""
    model = ReaderModel.load(MODEL_FILE)
    embedder = None
    if model.embed_weight:
        from agent.reader.embedding import SentenceEmbedder

        embedder = SentenceEmbedder()
    return Reader(model, embedder)

"""Model-written text sent in pieces as it is decoded: a piece goes out once its clause is complete and checked,
so the customer reads the reply as it forms, and an unchecked or failing piece is never shown."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

# A clause ends at punctuation followed by a space (known once the next token arrives), or at the end of the text.
CLAUSE_END = re.compile(r"[,.!?;:](?=\s)|[。！？，；：]")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


def json_string_so_far(raw: str) -> tuple[str, bool]:
    """The text of the one JSON string a schema-constrained model is writing, decoded so far, and whether it is
    closed. ('"Sure, hap' -> ('Sure, hap', False).) Not a string at all: ('', False)."""
    text = raw.lstrip()
    if not text.startswith('"'):
        return "", False
    out: list[str] = []
    index = 1
    while index < len(text):
        char = text[index]
        if char == '"':
            return "".join(out), True
        if char != "\\":
            out.append(char)
            index += 1
            continue
        escape = text[index + 1 : index + 2]
        if not escape or (escape == "u" and len(text) < index + 6):
            break  # the escape is still being written
        if escape == "u":
            out.append(chr(int(text[index + 2 : index + 6], 16)))
            index += 6
        else:
            out.append(_ESCAPES.get(escape, escape))
            index += 2
    return "".join(out), False


@dataclass
class ClauseStream:
    """Cuts a growing text into clause pieces. A piece is released only when `passes` accepts it (the grounding
    check) and, with `allowed`, while the text released stays the start of one of those lines (a backend that
    ignores its grammar gets no say). The first piece refused stops the stream: nothing after it is released."""

    passes: Callable[[str], bool]
    allowed: tuple[str, ...] | None = None
    sent: str = ""
    refused: str | None = None
    pieces: list[str] = field(default_factory=list)

    def feed(self, text: str, complete: bool) -> list[str]:
        """The new pieces released by `text` (everything decoded so far; `complete` once it is final)."""
        if self.refused is not None:
            return []
        ends = [match.end() for match in CLAUSE_END.finditer(text)] + ([len(text)] if complete else [])
        released = []
        for end in ends:
            if end <= len(self.sent):
                continue
            piece = text[len(self.sent) : end]
            if not self._fits(text[:end], final=complete and end == len(text)) or not self.passes(piece):
                self.refused = piece
                break
            self.sent = text[:end]
            released.append(piece)
        self.pieces += released
        return released

    def _fits(self, text: str, *, final: bool) -> bool:
        if self.allowed is None:
            return True
        return text in self.allowed if final else any(line.startswith(text) for line in self.allowed)

    def settled(self, text: str) -> str | None:
        """The one allowed line that `text` (decoded so far) can still become, once only one can: under the
        grammar the rest of it is forced, so the customer need not wait for it to be decoded."""
        if self.allowed is None:
            return None
        left = [line for line in self.allowed if line.startswith(text)]
        return left[0] if len(left) == 1 else None

    def completion(self) -> str:
        """After a refusal mid-line: the rest of the first allowed line that starts with what was sent, so that
        the customer never reads half a sentence ('' when nothing was sent or there is no such line)."""
        if not self.sent or self.allowed is None:
            return ""
        line = next((line for line in self.allowed if line.startswith(self.sent)), "")
        return line[len(self.sent) :]

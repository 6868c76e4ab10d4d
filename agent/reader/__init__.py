"""The reader: every customer message, in the context of the dialogue, as a structured dialogue act."""

from agent.reader.acts import DialogueAct, Move, PaymentKind, Reason, RequestKind, Slots
from agent.reader.reader import Reader, default_reader

__all__ = ["DialogueAct", "Move", "PaymentKind", "Reader", "Reason", "RequestKind", "Slots", "default_reader"]

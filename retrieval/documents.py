"""The unit the retriever indexes: one sellable item (a product variant) with its searchable text."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Document:
    """One searchable item.

    doc_id is unique in a catalogue (the item id for store variants). title is the product name,
    text what gets embedded and tokenised (name, options, description).
    """

    doc_id: str
    title: str
    text: str
    product_id: str
    price: float | None = None
    available: bool = True
    options: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def catalogue_hash(docs: Iterable[Document]) -> str:
    """A digest of everything that affects ranking or filtering, so a changed catalogue invalidates an index."""
    digest = hashlib.sha256()
    for doc in docs:
        digest.update(json.dumps(doc.to_dict(), sort_keys=True).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def describe(name: str, options: dict[str, str], description: str = "") -> str:
    """The searchable text of an item: its product name, options and description."""
    parts = [name]
    if options:
        parts.append("; ".join(f"{key}: {value}" for key, value in options.items()))
    if description:
        parts.append(description)
    return ". ".join(parts)

"""Import a store's own catalogue from CSV or JSONL, all rows or none.

Schema (one row per sellable item; see README "Catalogue import"):

| field         | required | meaning                                                                 |
|---------------|----------|-------------------------------------------------------------------------|
| product_id    | yes      | the product this item belongs to                                        |
| name          | yes      | the product name                                                        |
| item_id       | no       | the variant's id; default: the product id (a product with one variant)  |
| price         | no       | decimal price; empty = no price                                         |
| available     | no       | true/false/1/0/yes/no; default true                                     |
| description   | no       | product description                                                     |
| category      | no       | product category                                                        |
| options       | no       | a JSON object of option name → value (CSV: a JSON string)               |
| option.<name> | no       | CSV: one column per option                                              |
| product_url   | no       | the product's page: an http(s) URL or a path on the storefront ("/p/1")  |
| image_url     | no       | the product's picture: an http(s) URL or a path on the storefront       |

`column_map` renames source columns to these fields (e.g. {"name": "product_name"}); other columns are ignored
and reported.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import insert, select, update

from tools.retail.data_model import Item, Product, to_money
from tools.store import Store
from tools.web_address import MAX_URL, web_address

KNOWN_FIELDS = {"product_id", "name", "item_id", "price", "available", "description", "category", "options",
                "product_url", "image_url"}
OPTION_PREFIX = "option."
BATCH = 5000


class CatalogImportError(ValueError):
    """The file cannot be imported; nothing was written."""


class CatalogRow(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    product_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=512)
    item_id: str | None = Field(default=None, max_length=64)
    price: Decimal | None = None
    available: bool = True
    description: str = ""
    category: str | None = None
    options: dict[str, str] = Field(default_factory=dict)
    product_url: str | None = Field(default=None, max_length=MAX_URL)
    image_url: str | None = Field(default=None, max_length=MAX_URL)

    @field_validator("product_url", "image_url", mode="before")
    @classmethod
    def _url(cls, value: Any) -> str | None:
        return web_address(value)

    @field_validator("price", mode="before")
    @classmethod
    def _price(cls, value: Any) -> Decimal | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            price = to_money(value)
        except (InvalidOperation, ValueError):
            raise ValueError(f"not a number: {value!r}") from None
        if price < 0:
            raise ValueError("must not be negative")
        return price

    @field_validator("options", mode="before")
    @classmethod
    def _options(cls, value: Any) -> dict[str, str]:
        if value in (None, ""):
            return {}
        if isinstance(value, str):
            value = json.loads(value)
        if not isinstance(value, dict):
            raise ValueError("must be an object of option name to value")
        return {str(k): str(v) for k, v in value.items()}

    @field_validator("available", mode="before")
    @classmethod
    def _available(cls, value: Any) -> Any:
        return True if value in (None, "") else value


@dataclass
class ImportReport:
    rows: int = 0
    products_added: int = 0
    products_updated: int = 0
    items_added: int = 0
    items_updated: int = 0
    ignored_columns: list[str] = field(default_factory=list)


def import_catalog(
    store: Store, path: Path, *, column_map: dict[str, str] | None = None, file_format: str = "auto"
) -> ImportReport:
    """Validate every row first, then upsert products and items in one transaction."""
    path = Path(path)
    if not path.is_file():
        raise CatalogImportError(f"no such file: {path}")
    report = ImportReport()
    rows = _validated_rows(_records(path, _format_of(path, file_format)), column_map or {}, report)
    if not rows:
        raise CatalogImportError(f"{path} has no rows")
    store.migrate()
    with store.transaction() as session:
        _upsert(session, rows, report)
    return report


def _format_of(path: Path, file_format: str) -> str:
    if file_format != "auto":
        if file_format not in {"csv", "jsonl"}:
            raise CatalogImportError(f"unknown format {file_format!r}: use csv or jsonl")
        return file_format
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson"}:
        return "jsonl"
    if suffix in {".csv", ".tsv"}:
        return "csv"
    raise CatalogImportError(f"cannot tell the format of {path.name}: pass --format csv or jsonl")


def _records(path: Path, file_format: str) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        if file_format == "csv":
            dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
            for number, record in enumerate(csv.DictReader(handle, dialect=dialect), start=2):
                yield number, record
            return
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise CatalogImportError(f"line {number}: invalid JSON ({error.msg})") from None
                if not isinstance(record, dict):
                    raise CatalogImportError(f"line {number}: expected a JSON object")
                yield number, record


def _mapped(record: dict[str, Any], column_map: dict[str, str], report: ImportReport) -> dict[str, Any]:
    source_to_field = {source: target for target, source in column_map.items()}
    row: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for column, value in record.items():
        name = source_to_field.get(column, column)
        if name.startswith(OPTION_PREFIX):
            if value not in (None, ""):
                options[name.removeprefix(OPTION_PREFIX)] = value
        elif name in KNOWN_FIELDS:
            row[name] = value
        elif column not in report.ignored_columns:
            report.ignored_columns.append(column)
    if options:
        row["options"] = {**CatalogRow._options(row.get("options")), **options}
    return row


def _validated_rows(
    records: Iterator[tuple[int, dict[str, Any]]], column_map: dict[str, str], report: ImportReport
) -> list[CatalogRow]:
    rows, errors, seen = [], [], set()
    for number, record in records:
        try:
            row = CatalogRow.model_validate(_mapped(record, column_map, report))
        except (ValidationError, ValueError) as error:
            errors.append(f"line {number}: {_describe(error)}")
            continue
        item_id = row.item_id or row.product_id
        if item_id in seen:
            errors.append(f"line {number}: item {item_id} appears twice")
        seen.add(item_id)
        rows.append(row)
    report.rows = len(rows)
    if errors:
        shown = "\n".join(errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise CatalogImportError(f"{len(errors)} invalid row(s); nothing was imported:\n{shown}{more}")
    return rows


def _describe(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in error.errors())
    return str(error)


def _existing(session: Any, column: Any, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), BATCH):
        found.update(session.scalars(select(column).where(column.in_(ids[start : start + BATCH]))))
    return found


def _upsert(session: Any, rows: list[CatalogRow], report: ImportReport) -> None:
    products: dict[str, dict[str, Any]] = {}
    items: list[dict[str, Any]] = []
    variants_seen: Counter[str] = Counter()
    for row in rows:
        products[row.product_id] = {
            "product_id": row.product_id,
            "name": row.name,
            "description": row.description,
            "category": row.category,
            "product_url": row.product_url,
            "image_url": row.image_url,
        }
        items.append(
            {
                "item_id": row.item_id or row.product_id,
                "product_id": row.product_id,
                "position": variants_seen[row.product_id],
                "options": row.options,
                "price": row.price,
                "available": row.available,
            }
        )
        variants_seen[row.product_id] += 1
    _refuse_moved_items(session, items)
    report.products_added, report.products_updated = _upsert_table(
        session, Product, Product.product_id, "product_id", list(products.values())
    )
    report.items_added, report.items_updated = _upsert_table(session, Item, Item.item_id, "item_id", items)


def _refuse_moved_items(session: Any, items: list[dict[str, Any]]) -> None:
    """An item id already used by another product is a clash, not an update."""
    wanted = {i["item_id"]: i["product_id"] for i in items}
    ids = list(wanted)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        for item_id, product_id in session.execute(
            select(Item.item_id, Item.product_id).where(Item.item_id.in_(chunk))
        ):
            if wanted[item_id] != product_id:
                raise CatalogImportError(
                    f"item {item_id} already belongs to product {product_id}; nothing was imported"
                )


def _upsert_table(session: Any, model: Any, column: Any, key: str, rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Insert new rows and update existing ones by primary key, in batches; returns (added, updated)."""
    existing = _existing(session, column, [r[key] for r in rows])
    new_rows = [r for r in rows if r[key] not in existing]
    old_rows = [r for r in rows if r[key] in existing]
    for start in range(0, len(new_rows), BATCH):
        session.execute(insert(model), new_rows[start : start + BATCH])
    for start in range(0, len(old_rows), BATCH):
        session.execute(update(model), old_rows[start : start + BATCH])
    return len(new_rows), len(old_rows)

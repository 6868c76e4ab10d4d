"""Catalogue import from CSV and JSONL: all rows or none, upserts by id, clear errors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tools.catalog_import import CatalogImportError, import_catalog
from tools.retail.data_model import Item, Product
from tools.store import Store

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def store(empty_database_url: str) -> Store:
    """An empty store, on each database."""
    store = Store(empty_database_url)
    store.migrate()
    yield store
    store.dispose()


def counts(store: Store) -> tuple[int, int]:
    with store.session() as session:
        return (
            session.scalar(select(func.count()).select_from(Product)),
            session.scalar(select(func.count()).select_from(Item)),
        )


def test_csv_with_option_columns(store: Store) -> None:
    report = import_catalog(store, FIXTURES / "catalog_small.csv")
    assert (report.rows, report.products_added, report.items_added) == (3, 2, 3)
    assert report.ignored_columns == ["supplier"]
    with store.session() as session:
        red = session.get(Item, "i-100-red-43")
        assert red.options == {"color": "red", "size": "43"}
        assert red.price == Decimal("92.50") and red.available is False
        mug = session.get(Item, "p-200")  # no item_id: the product id names its only variant
        assert mug.product.name == "Ceramic Mug" and mug.price == Decimal("12.00") and mug.available is True
        assert session.get(Product, "p-100").description == "Light shoe for rocky trails"


def test_jsonl_with_options_object(store: Store) -> None:
    report = import_catalog(store, FIXTURES / "catalog_small.jsonl")
    assert report.items_added == 2
    with store.session() as session:
        item = session.get(Item, "i-300-b")
        assert item.options == {"pieces": "6", "color": "white"}
        assert item.price == Decimal("31.50") and item.available is False
        assert [i.item_id for i in session.get(Product, "p-300").items] == ["i-300-a", "i-300-b"]


def test_reimport_updates_in_place(store: Store, tmp_path: Path) -> None:
    import_catalog(store, FIXTURES / "catalog_small.jsonl")
    changed = tmp_path / "changed.jsonl"
    changed.write_text(json.dumps({"product_id": "p-300", "name": "Espresso Cups", "item_id": "i-300-a",
                                   "price": 19.99}) + "\n")
    report = import_catalog(store, changed)
    assert (report.products_updated, report.items_updated, report.items_added) == (1, 1, 0)
    assert counts(store) == (1, 2)
    with store.session() as session:
        assert session.get(Item, "i-300-a").price == Decimal("19.99")
        assert session.get(Product, "p-300").name == "Espresso Cups"


def test_invalid_rows_are_listed_and_nothing_is_written(store: Store) -> None:
    with pytest.raises(CatalogImportError) as error:
        import_catalog(store, FIXTURES / "catalog_invalid.csv")
    message = str(error.value)
    assert "3 invalid row(s)" in message
    assert "line 3" in message and "name" in message
    assert "line 4" in message and "not a number" in message
    assert "line 5" in message and "negative" in message
    assert counts(store) == (0, 0)


def test_duplicate_item_ids_are_refused(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("product_id,name,item_id\np1,A,x\np2,B,x\n")
    with pytest.raises(CatalogImportError, match="appears twice"):
        import_catalog(store, path)
    assert counts(store) == (0, 0)


def test_item_cannot_move_to_another_product(store: Store, tmp_path: Path) -> None:
    import_catalog(store, FIXTURES / "catalog_small.jsonl")
    path = tmp_path / "move.csv"
    path.write_text("product_id,name,item_id\np-new,New,fresh-item\np-999,Other,i-300-a\n")
    with pytest.raises(CatalogImportError, match="already belongs to product p-300"):
        import_catalog(store, path)
    assert counts(store) == (1, 2)  # the valid first row was not written either


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("catalog.txt", "product_id,name\n1,A\n", "cannot tell the format"),
        ("broken.jsonl", '{"product_id": "1", "name": "A"}\n{not json\n', "line 2: invalid JSON"),
        ("list.jsonl", "[1, 2]\n", "expected a JSON object"),
        ("empty.csv", "product_id,name\n", "has no rows"),
    ],
)
def test_unreadable_files(store: Store, tmp_path: Path, name: str, content: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(CatalogImportError, match=expected):
        import_catalog(store, path)


def test_missing_file(store: Store, tmp_path: Path) -> None:
    with pytest.raises(CatalogImportError, match="no such file"):
        import_catalog(store, tmp_path / "absent.csv")


def test_instacart_catalogue(store: Store, data_dir: Path) -> None:
    """The whole 49,688-product Instacart catalogue, through a column map."""
    source = data_dir / "instacart" / "products.csv"
    mapping = {"name": "product_name", "category": "department_id"}
    report = import_catalog(store, source, column_map=mapping)
    assert (report.products_added, report.items_added) == (49_688, 49_688)
    assert report.ignored_columns == ["aisle_id"]
    assert counts(store) == (49_688, 49_688)
    with store.session() as session:
        first = session.get(Product, "1")
        assert first.name == "Chocolate Sandwich Cookies" and first.category == "19"
    again = import_catalog(store, source, column_map=mapping)
    assert (again.products_added, again.products_updated) == (0, 49_688)
    assert counts(store) == (49_688, 49_688)


def test_product_and_image_urls_are_imported(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "linked.csv"
    path.write_text("product_id,name,link,picture\n"
                    "p1,Boot,https://shop.example.com/p/boot,/images/boot.jpg\n"
                    "p2,Mug,,\n")
    report = import_catalog(store, path, column_map={"product_url": "link", "image_url": "picture"})
    assert report.products_added == 2 and report.ignored_columns == []
    with store.session() as session:
        boot, mug = session.get(Product, "p1"), session.get(Product, "p2")
        assert (boot.product_url, boot.image_url) == ("https://shop.example.com/p/boot", "/images/boot.jpg")
        assert (mug.product_url, mug.image_url) == (None, None)  # empty cells: no link, no picture


@pytest.mark.parametrize(
    "address",
    ["javascript:alert(1)", "data:image/svg+xml,<svg/>", "//evil.example.com/x", "ftp://shop.example.com/a",
     "https://", "https://shop.example.com/a b", "/p/1\\x", "boot.jpg"],
)
def test_a_url_that_is_not_a_web_address_is_refused(store: Store, tmp_path: Path, address: str) -> None:
    path = tmp_path / "bad.jsonl"
    rows = [{"product_id": "p1", "name": "Fine", "image_url": "https://cdn.example.com/1.jpg"},
            {"product_id": "p2", "name": "Bad", "product_url": address}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(CatalogImportError, match=r"line 2: product_url: .*(http\(s\) URL|spaces)"):
        import_catalog(store, path)
    assert counts(store) == (0, 0)


def test_a_store_made_before_the_url_columns_gets_them(tmp_path: Path) -> None:
    """A database created by an older version (products without the URL columns) keeps working."""
    from sqlalchemy import create_engine, inspect

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    with old.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE products (product_id VARCHAR(64) PRIMARY KEY, name VARCHAR(512), "
                                   "description TEXT, category VARCHAR(256))")
        connection.exec_driver_sql("INSERT INTO products VALUES ('p0', 'Old Lamp', '', NULL)")
    old.dispose()
    store = Store(url)
    try:
        store.migrate()
        columns = {c["name"] for c in inspect(store.engine).get_columns("products")}
        assert {"product_url", "image_url"} <= columns
        store.migrate()  # idempotent
        with store.session() as session:
            lamp = session.get(Product, "p0")
            assert (lamp.name, lamp.product_url) == ("Old Lamp", None)
    finally:
        store.dispose()

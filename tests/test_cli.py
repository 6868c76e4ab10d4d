"""The `shopagent` command line, on a fresh home directory per test module."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from server.cli import app
from server.config import get_settings

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Path:
    """A fresh home whose store is on SQLite, then on PostgreSQL (the module's tests build on each other)."""
    home = tmp_path_factory.mktemp("home")
    patch = pytest.MonkeyPatch()
    patch.setenv("SHOPAGENT_HOME", str(home))
    patch.setenv("SHOPAGENT_DATABASE_URL", module_database_url)
    get_settings.cache_clear()
    yield home
    patch.undo()
    get_settings.cache_clear()


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_search_before_load_says_what_to_do(home: Path) -> None:
    result = invoke("search", "keyboard")
    assert result.exit_code == 2
    assert "run `shopagent store load`" in result.output


def test_load_then_refuse_to_load_twice(home: Path) -> None:
    first = invoke("store", "load")
    assert first.exit_code == 0, first.output
    assert "Loaded 50 products, 500 customers and 1000 orders" in first.output
    again = invoke("store", "load")
    assert again.exit_code == 2
    assert "already has data" in again.output
    replaced = invoke("store", "load", "--replace")
    assert replaced.exit_code == 0, replaced.output


def test_load_bad_sources(home: Path, tmp_path: Path) -> None:
    missing = invoke("store", "load", "--source", str(tmp_path / "nope.json"), "--replace")
    assert missing.exit_code == 2 and "no such file" in missing.output
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"products": {}}))
    bad = invoke("store", "load", "--source", str(wrong), "--replace")
    assert bad.exit_code == 2 and "not a store file" in bad.output
    stats = invoke("store", "stats")
    assert re.search(r"orders: 1000$", stats.output, re.MULTILINE)  # the failed replace changed nothing


def test_search_prints_ranked_items(home: Path) -> None:
    invoke("store", "load", "--replace")
    result = invoke("search", "clicky rgb keyboard under 300", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["filters"]["max_price"] == 300
    results = payload["results"]
    assert results, "expected matching keyboards"
    for row in results:
        assert row["name"] == "Mechanical Keyboard"
        assert row["price"] <= 300
        assert row["options"]["switch type"] == "clicky"
        assert row["options"]["backlight"] == "RGB"
    table = invoke("search", "mechanical keyboard", "-k", "3")
    assert table.exit_code == 0
    assert "Mechanical Keyboard" in table.output and "item id" in table.output


def test_search_explicit_filters(home: Path) -> None:
    result = invoke("search", "t-shirt", "--max-price", "50", "--in-stock", "--option", "color=black", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["results"]
    assert rows
    assert all(r["price"] <= 50 and r["available"] and r["options"].get("color") == "black" for r in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "  "], "the query is empty"),
        (["search", "lamp", "--min-price", "10", "--max-price", "5"], "--min-price is above --max-price"),
        (["search", "lamp", "--option", "colour"], "--option takes NAME=VALUE"),
        (["search", "lamp", "-k", "0"], "Invalid value"),
        (["store", "import-catalog", "x.csv", "--map", "name"], "--map takes FIELD=COLUMN"),
    ],
)
def test_bad_input_exits_nonzero_with_a_message(home: Path, args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_import_catalog_command(home: Path) -> None:
    ok = invoke("store", "import-catalog", str(FIXTURES / "catalog_small.csv"))
    assert ok.exit_code == 0, ok.output
    assert "2 products added" in ok.output and "Ignored columns: supplier" in ok.output
    bad = invoke("store", "import-catalog", str(FIXTURES / "catalog_invalid.csv"))
    assert bad.exit_code == 2 and "nothing was imported" in bad.output
    found = invoke("search", "trail running shoe", "--json")
    assert json.loads(found.stdout)["results"][0]["product_id"] == "p-100"  # the index was rebuilt


@pytest.fixture
def no_model(home: Path):  # type: ignore[no-untyped-def]
    """The agent without a language model (flows only): the CLI's wiring is under test, not the model."""
    patch = pytest.MonkeyPatch()
    patch.setenv("SHOPAGENT_BACKEND", "none")
    get_settings.cache_clear()
    yield
    patch.undo()
    get_settings.cache_clear()


def test_run_serves_the_widget_and_prints_the_url(no_model, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from fastapi.testclient import TestClient

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda application, **kwargs: served.update(app=application, **kwargs))
    result = invoke("run", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/" in result.output and served["port"] == 8123
    for step in ("Store open", "Search index", "Reader loaded", "No language model", "Agent ready",
                 "Staff console: http://127.0.0.1:8123/console"):  # built or loaded: that depends on test order
        assert step in result.output, result.output
    page = TestClient(served["app"]).get("/")
    assert page.status_code == 200 and "widget.js" in page.text


def test_chat_in_the_terminal(no_model) -> None:
    result = CliRunner().invoke(
        app, ["chat", "--email", "james.li4495@example.com"], input="status of order #W2611340\n\n",
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "get_order_details" in result.output and "is processed" in result.output


def test_the_terminal_chat_lists_the_cards_it_cannot_show(no_model) -> None:
    """The widget shows product cards and the reply only sums them up; the terminal lists them under the reply."""
    result = CliRunner().invoke(
        app, ["chat", "--email", "james.li4495@example.com"], input="do you have a mechanical keyboard?\n\n",
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "matching item" in result.output and "- Mechanical Keyboard (" in result.output


def test_chat_with_an_unknown_email_fails_clearly(no_model) -> None:
    result = invoke("chat", "--email", "nobody@example.com")
    assert result.exit_code == 2 and "no customer with email" in result.output


def test_token_command_signs_a_verifiable_token(home: Path) -> None:
    from server.tokens import verify_customer_token

    result = invoke("token", "james_li_5688", "--ttl", "120")
    assert result.exit_code == 0, result.output
    assert verify_customer_token(get_settings().secret(), result.stdout.strip()) == "james_li_5688"

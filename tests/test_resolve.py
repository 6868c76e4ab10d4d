"""Resolving the customer's words to the items of an order and to a product's variants (agent/resolve.py)."""

from __future__ import annotations

from typing import Any

from agent import resolve


def _line(item_id: str, name: str, price: float, **options: str) -> dict[str, Any]:
    return {"item_id": item_id, "name": name, "product_id": "p", "price": price, "options": options}


def _variants(*variants: dict[str, Any]) -> dict[str, Any]:
    return {"variants": {v["item_id"]: {**v, "available": True} for v in variants}}


LAPTOP_13 = _line("1", "Laptop", 2300.0, screen="13-inch", color="silver")
LAPTOP_17 = _line("2", "Laptop", 2500.0, screen="17-inch", color="black")
LAMP = _line("3", "Desk Lamp", 40.0, color="white")
ORDER = {"items": [LAPTOP_13, LAPTOP_17, LAMP]}


def test_the_held_item_is_told_apart_by_the_words_before_the_wanted_one() -> None:
    chosen = resolve.order_lines(ORDER, "I want to modify the 17-inch laptop to the 13-inch version", [])
    assert chosen == [LAPTOP_17]
    chosen = resolve.order_lines(ORDER, "please change my 13-inch laptop into a 17-inch one", [])
    assert chosen == [LAPTOP_13]


def test_a_price_comparison_picks_one_of_two_lines_of_a_product() -> None:
    assert resolve.order_lines(ORDER, "return the laptop that is more expensive", []) == [LAPTOP_17]
    assert resolve.order_lines(ORDER, "return the cheaper laptop", []) == [LAPTOP_13]


def test_a_singular_description_of_two_alike_lines_asks_and_a_plural_takes_both() -> None:
    assert resolve.order_lines(ORDER, "I want to return a laptop", []) is None  # which one: ask
    assert resolve.order_lines(ORDER, "I want to return both laptops", []) == [LAPTOP_13, LAPTOP_17]
    assert resolve.order_lines(ORDER, "return the laptops and the lamp", []) == [LAPTOP_13, LAPTOP_17, LAMP]


def test_number_words_and_word_starts_name_option_values_below_exact_words() -> None:
    current = _line("10", "Luggage Set", 495.0, pieces="3-piece", color="blue", material="hardshell")
    wanted = _line("11", "Luggage Set", 452.0, pieces="2-piece", color="black", material="softshell")
    other = _line("12", "Luggage Set", 460.0, pieces="4-piece", color="black", material="softshell")
    product = _variants(current, wanted, other)
    chosen, _ = resolve.replacement_variant(product, current, "a two-piece black one with soft material")
    assert chosen is not None and chosen["item_id"] == "11"
    thermostat = _line("20", "Smart Thermostat", 262.0, compatibility="Apple HomeKit", color="black")
    google = _line("21", "Smart Thermostat", 249.0, compatibility="Google Assistant", color="black")
    homekit_white = _line("22", "Smart Thermostat", 260.0, compatibility="Apple HomeKit", color="white")
    product = _variants(thermostat, google, homekit_white)
    # "home" starts "HomeKit", but "google" names "Google Assistant" exactly: the exact word wins.
    chosen, _ = resolve.replacement_variant(product, thermostat, "one compatible with Google Home instead")
    assert chosen is not None and chosen["item_id"] == "21"


def test_a_clause_before_the_item_is_named_is_about_something_else() -> None:
    luggage = _line("10", "Luggage Set", 495.0, color="blue")
    text = ("exchange the helmet for a red one, and I want to exchange the luggage set to a black one. "
            "Two pieces would be best")
    [(line, words)] = resolve.clauses_by_line([luggage], text)
    assert line is luggage
    assert "red" not in words and "black" in words and "Two pieces" in words  # the clause after goes on about it


def test_two_alike_lines_without_a_latin_name_ask_which() -> None:
    speakers = [_line("30", "蓝牙音箱", 300.0, color="蓝色"), _line("31", "蓝牙音箱", 320.0, color="红色")]
    assert resolve.order_lines({"items": speakers}, "我想退蓝牙音箱", []) is None  # which one: ask, never a crash


BOARD = _line("10", "Skateboard", 180.0, deck="plastic", length="34 inch", design="custom")
BOARDS = {"variants": {
    "11": {"item_id": "11", "available": False, "price": 196.0,
           "options": {"deck": "maple", "length": "34 inch", "design": "graphic"}},
    "12": {"item_id": "12", "available": True, "price": 187.0,
           "options": {"deck": "maple", "length": "31 inch", "design": "graphic"}},
    "13": {"item_id": "13", "available": True, "price": 175.0,
           "options": {"deck": "plastic", "length": "28 inch", "design": "custom"}},
}}


def test_every_named_value_fitting_only_a_sold_out_variant_finds_it() -> None:
    wanted = resolve.unavailable_wanted(BOARDS, BOARD, "change the skateboard to maple, 34 inch, graphic")
    assert wanted is not None and wanted["item_id"] == "11"
    assert resolve.unavailable_wanted(BOARDS, BOARD, "change it to maple, 31 inch") is None  # in stock
    assert resolve.unavailable_wanted(BOARDS, BOARD, "a shorter one please") is None  # no value named
    assert resolve.unavailable_wanted(BOARDS, BOARD, "keep it plastic and 34 inch") is None  # only what they have
    assert resolve.unavailable_wanted(BOARDS, BOARD, "34 graphic") is None  # a bare number names no length


GIFT = {"id": "gift_card_1", "source": "gift_card", "balance": 20.0}
PAYPAL = {"id": "paypal_1", "source": "paypal"}
VISA = {"id": "credit_card_1", "source": "credit_card", "brand": "visa", "last_four": "1234"}
CUSTOMER = {"payment_methods": {m["id"]: m for m in (GIFT, PAYPAL, VISA)}}


def test_the_newest_line_naming_a_method_decides_and_the_original_is_named_by_its_role() -> None:
    answer_then_request = "actually PayPal\nrefund it to my gift card"  # an answer is read above its request
    assert resolve.payment_method(CUSTOMER, answer_then_request) == PAYPAL
    assert resolve.payment_method(CUSTOMER, "the original payment method is fine", VISA) == VISA
    assert resolve.payment_method(CUSTOMER, "退回原支付方式", VISA) == VISA
    assert resolve.payment_method(CUSTOMER, "the original payment method is fine") is None  # no order to say which
    assert resolve.payment_method(CUSTOMER, "whatever you think") is None


def test_a_card_is_named_by_its_brand() -> None:
    master = {"id": "credit_card_2", "source": "credit_card", "brand": "mastercard", "last_four": "9999"}
    two_cards = {"payment_methods": {m["id"]: m for m in (GIFT, VISA, master)}}
    assert resolve.payment_method(two_cards, "the mastercard please") == master
    assert resolve.payment_method(two_cards, "my Visa") == VISA
    assert resolve.payment_method(two_cards, "my credit card") is None  # two cards: which one is not said

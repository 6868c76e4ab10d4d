"""Replies in the customer's language: the catalogues per locale, each message's language, and whole
conversations through the API in Chinese, in English and switching between them, escalation included."""

from __future__ import annotations

import json
import re
import string
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent import locales
from agent.manager import Agent
from retrieval.language import conversation_language, message_language
from server.app import create_app
from server.config import Settings
from tests.test_api import events_of, new_session
from tools.context import IdentityPolicy
from tools.store import Store

JAMES_EMAIL = "james.li4495@example.com"
JAMES_PROCESSED = "#W2611340"
CJK = re.compile(r"[\u4e00-\u9fff]")
# An English sentence: four Latin words in a row. Product names and options ("Water Bottle", "color：blue") are the
# catalogue's own words and stay as they are.
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]+(?:[ ,'-]+[A-Za-z]+){3,}")


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def leaves(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for number, value in enumerate(node):
            yield from leaves(value, f"{path}[{number}]")
    else:
        yield path, str(node)


FAMILIES = sorted(path.stem for path in (locales.LOCALES_DIR / "en").glob("*.toml"))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("locale", [locale for locale in locales.LOCALES if locale != locales.DEFAULT])
def test_every_english_text_has_a_translation_with_the_same_placeholders(family: str, locale: str) -> None:
    english = dict(leaves(tomllib.loads((locales.LOCALES_DIR / "en" / f"{family}.toml").read_text())))
    path = locales.LOCALES_DIR / locale / f"{family}.toml"
    assert path.is_file(), f"{path} is missing"
    translated = dict(leaves(tomllib.loads(path.read_text(encoding="utf-8"))))
    assert set(english) - set(translated) == set(), f"{locale}/{family}.toml lacks keys"
    assert set(translated) - set(english) == set(), f"{locale}/{family}.toml has keys English lacks"
    for key, text in english.items():
        assert placeholders(translated[key]) == placeholders(text), f"{locale}/{family}.toml {key}"


def test_the_families_are_the_customer_facing_ones() -> None:
    assert {"replies", "words", "statuses", "escalation", "widget"} <= set(FAMILIES)


@pytest.mark.parametrize(("text", "language"), [
    ("我要转人工", "zh"),
    ("有没有 GoPro", "zh"),
    ("我的订单 #W2611340 到哪了", "zh"),
    ("Where is my order?", "en"),
    ("can you cancel #W2611340 please", "en"),
    ("#W2611340", None),
    ("yes", None),
    ("OK", None),
    ("No thanks", None),
    (JAMES_EMAIL, None),
    ("Yusuf Rossi 19122", None),  # a name and zip code: no language of their own
    ("", None),
])
def test_a_message_carries_a_language_or_none(text: str, language: str | None) -> None:
    assert message_language(text) == language


def test_a_message_without_language_keeps_the_conversations() -> None:
    assert conversation_language("#W2611340", "zh") == "zh"
    assert conversation_language("yes", "zh") == "zh"
    assert conversation_language("What about my other order?", "zh") == "en"
    assert conversation_language("谢谢", "en") == "zh"
    mixed = "我还想把 e-reader 也退了。If the same item is available online, I'm willing to exchange it."
    assert message_language(mixed) == "en" and conversation_language(mixed, "zh") == "zh"  # still a Chinese reader


def test_outside_a_turn_texts_are_english_and_a_turn_sets_its_locale() -> None:
    assert locales.text("replies", "none_listed") == "none"
    with locales.speaking("zh"):
        assert locales.text("replies", "none_listed") == "无"
        with locales.speaking("xx"):  # a locale not served: the default
            assert locales.text("replies", "none_listed") == "none"
    assert locales.current() == "en"


# --- conversations through the API ----------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path, store: Store, retriever) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    settings = Settings(home=tmp_path, database_url=store.url, backend="none", token_secret="test-secret",
                        rate_limit_per_minute=1000)
    agent = Agent(store, retriever=retriever, identity=IdentityPolicy.BENCHMARK)  # tau2's sign-in by email
    with TestClient(create_app(settings, agent=agent)) as test_client:
        yield test_client


def turn(client: TestClient, session_id: str, text: str) -> list[tuple[str, dict[str, Any]]]:
    response = client.post(f"/api/sessions/{session_id}/messages", json={"text": text})
    assert response.status_code == 200, response.text
    return events_of(response)


def reply_of(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    return next(data for name, data in events if name == "message")


def assert_chinese(text: str) -> None:
    assert CJK.search(text), text
    assert not ENGLISH_SENTENCE.search(text), text


def assert_english(text: str) -> None:
    assert not CJK.search(text), text
    assert message_language(text) == "en", text


def test_a_chinese_conversation_is_answered_in_chinese(client: TestClient) -> None:
    session_id = new_session(client)
    greeting = reply_of(turn(client, session_id, "你好"))
    assert_chinese(greeting["text"]) and greeting["language"] == "zh"

    asked = reply_of(turn(client, session_id, f"我的订单 {JAMES_PROCESSED} 现在是什么状态？"))
    assert_chinese(asked["text"])  # identity first, asked in Chinese

    events = turn(client, session_id, JAMES_EMAIL)  # no language of its own: the conversation stays Chinese
    status = reply_of(events)
    assert_chinese(status["text"])
    assert JAMES_PROCESSED in status["text"] and "已处理" in status["text"] and "US$536.65" in status["text"]
    steps = [data["text"] for name, data in events if name == "status"]
    assert steps and all(CJK.search(step) for step in steps)

    events = turn(client, session_id, "我要转人工")
    notices = [data for name, data in events if name == "handoff"]
    assert notices and notices[0]["language"] == "zh"
    assert_chinese(notices[0]["notice"])
    assert_chinese(reply_of(events)["text"])
    history = client.get(f"/api/sessions/{session_id}/messages").json()
    assert history["language"] == "zh"


def test_an_english_conversation_stays_english(client: TestClient) -> None:
    session_id = new_session(client)
    assert_english(reply_of(turn(client, session_id, "hello"))["text"])
    assert_english(reply_of(turn(client, session_id, f"what's the status of order {JAMES_PROCESSED}?"))["text"])
    events = turn(client, session_id, JAMES_EMAIL)
    status = reply_of(events)
    assert_english(status["text"]) and status["language"] == "en"
    assert f"Order {JAMES_PROCESSED} is processed" in status["text"]
    assert ("status", {"text": "Looking up your order…"}) in events


def test_the_language_follows_the_customer_mid_conversation(client: TestClient) -> None:
    session_id = new_session(client)
    assert_chinese(reply_of(turn(client, session_id, "你好"))["text"])
    switched = reply_of(turn(client, session_id, "Sorry, can you answer in English? I need help with an order."))
    assert_english(switched["text"]) and switched["language"] == "en"
    assert_english(reply_of(turn(client, session_id, "yes"))["text"])  # no language: still English
    back = reply_of(turn(client, session_id, "谢谢"))
    assert_chinese(back["text"]) and back["language"] == "zh"


def test_the_handoff_button_speaks_the_conversations_language(client: TestClient) -> None:
    session_id = new_session(client)
    turn(client, session_id, "你好")
    response = client.post(f"/api/sessions/{session_id}/handoff")
    assert response.status_code == 200
    assert_chinese(response.json()["notice"])
    history = client.get(f"/api/sessions/{session_id}/messages").json()["messages"]
    assert CJK.search(history[-2]["text"])  # the button's request is stored in the customer's language


def test_the_widget_gets_its_words_per_locale(client: TestClient) -> None:
    strings = client.get("/widget/strings.json").json()
    assert set(strings) == set(locales.LOCALES)
    assert set(strings["zh"]) == set(strings["en"])
    assert strings["zh"]["talkToPerson"] != strings["en"]["talkToPerson"]


# --- escalation in a Chinese conversation ---------------------------------------------------------------


def escalated(client: TestClient, messages: list[str]) -> tuple[int | None, list[str]]:
    """The turn (1-based) at which the conversation was handed to a person, and every reply."""
    session_id, at, replies = new_session(client), None, []
    for number, text in enumerate(messages, start=1):
        events = turn(client, session_id, text)
        replies.append(next((data["text"] for name, data in events if name == "message"), ""))
        if at is None and any(name == "handoff" for name, _ in events):
            at = number
    return at, replies


def test_an_angry_chinese_customer_is_handed_to_a_person_in_chinese(client: TestClient) -> None:
    at, replies = escalated(client, ["你好", "耳机用了三天就坏了，太差了！", "你们到底管不管？真的受够了！",
                                     "气死我了，赶紧处理"])
    assert at is not None and at >= 3  # one angry message alone does not escalate
    assert_chinese(replies[at - 1])


@pytest.mark.parametrize("request_text", ["能帮我找个客服吗", "我要投诉", "转人工"])
def test_a_chinese_request_for_a_person_escalates_at_once(client: TestClient, request_text: str) -> None:
    at, replies = escalated(client, ["你好", request_text])
    assert at == 2
    assert_chinese(replies[1])


@pytest.mark.parametrize("risk", ["我的信用卡被人盗刷了", "收到的电热水壶漏电了", "我要找律师起诉你们"])
def test_a_chinese_risk_topic_escalates_at_once(client: TestClient, risk: str) -> None:
    at, replies = escalated(client, [risk])
    assert at == 1
    assert_chinese(replies[0])


def test_a_calm_chinese_conversation_is_not_escalated(client: TestClient) -> None:
    at, _ = escalated(client, ["你好", "有没有蓝牙耳机？", "黑色的有吗", "上次的包装有点差，不过这次想买个水杯",
                               "好的，谢谢"])
    assert at is None


# --- the person who takes over ----------------------------------------------------------------------------


def test_the_person_taking_a_chinese_conversation_gets_chinese_drafts_and_notices(
        client: TestClient, store: Store) -> None:
    from agent.escalation.staff import StaffDirectory

    StaffDirectory(store).add("dana", "correct horse battery", "Dana")
    login = client.post("/api/console/login", json={"staff_id": "dana", "password": "correct horse battery"})
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    session_id = new_session(client)
    turn(client, session_id, "你好")
    turn(client, session_id, "我要投诉")
    ticket_id = client.get("/api/console/tickets", headers=headers).json()["tickets"][0]["id"]
    view = client.get(f"/api/console/tickets/{ticket_id}", headers=headers).json()
    assert view["drafts"] and all(CJK.search(draft["text"]) for draft in view["drafts"])

    client.post(f"/api/console/tickets/{ticket_id}/take", headers=headers)
    client.post(f"/api/console/tickets/{ticket_id}/handback", headers=headers)
    stream = client.get(f"/api/sessions/{session_id}/events", params={"wait": 0})
    notices = [event for event in (json.loads(line[5:]) for line in stream.text.splitlines()
                                   if line.startswith("data:")) if event.get("notice")]
    assert len(notices) == 2 and all(CJK.search(n["text"]) and "Dana" in n["text"] for n in notices)


@pytest.mark.parametrize(("tag", "language"), [("zh-CN", "zh"), ("zh", "zh"), ("en-GB", "en"), ("fr", "en")])
def test_a_session_greets_in_the_language_it_is_opened_with(client: TestClient, tag: str, language: str) -> None:
    response = client.post("/api/sessions", json={"language": tag})
    assert response.status_code == 201 and response.json()["language"] == language
    greeting = response.json()["greeting"]
    assert_chinese(greeting) if language == "zh" else assert_english(greeting)
    session_id = response.json()["session_id"]
    reply = reply_of(turn(client, session_id, "#W2611340"))  # no language of its own: the session's
    assert reply["language"] == language


def test_a_language_that_is_not_a_tag_is_refused_and_opens_nothing(client: TestClient, store: Store) -> None:
    from sqlalchemy import func, select

    from agent.memory import ChatSession

    with store.session() as session:
        before = session.scalar(select(func.count()).select_from(ChatSession))
    response = client.post("/api/sessions", json={"language": "<script>"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "language"]
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(ChatSession)) == before


def test_every_recognised_tool_text_has_its_words() -> None:
    glosses = tomllib.loads((locales.LOCALES_DIR / "glosses.toml").read_text())
    assert set(glosses["tool_errors"]) | {"other"} == set(locales.catalogue("words")["tool_errors"])
    assert set(glosses["reasons"]) == set(locales.catalogue("words")["reasons"])


@pytest.mark.parametrize(("reason", "chinese"), [
    ("often bought with Water Bottle", "常与 Water Bottle 一起购买"),
    ("similar to your earlier orders", "与 您以前的订单 相似"),
    ("popular in our store", "本店热销"),
    ("a reason no pattern knows", "a reason no pattern knows"),
])
def test_recommendation_reasons_are_glossed_outside_english(reason: str, chinese: str) -> None:
    from agent.replies import reason_text

    assert reason_text(reason) == reason
    with locales.speaking("zh"):
        assert reason_text(reason) == chinese


def test_a_failed_step_is_explained_in_chinese(client: TestClient) -> None:
    session_id = new_session(client)
    turn(client, session_id, "你好")
    turn(client, session_id, JAMES_EMAIL)
    failed = reply_of(turn(client, session_id, "帮我查一下订单 #W0000000"))
    assert_chinese(failed["text"])
    assert "#W0000000" in failed["text"]


def test_a_chinese_cancellation_is_proposed_confirmed_and_done_in_chinese(client: TestClient, store: Store) -> None:
    from sqlalchemy import select

    from tools.retail.data_model import Order

    with store.session() as session:
        order_id = session.scalar(select(Order.order_id).where(Order.user_id == "emma_smith_8564",
                                                               Order.status == "pending").limit(1))
    session_id = new_session(client)
    turn(client, session_id, "你好")
    turn(client, session_id, "emma.smith3991@example.com")
    events = turn(client, session_id, f"帮我取消订单 {order_id}，我下错单了")
    proposal = reply_of(events)
    assert_chinese(proposal["text"]) and "下错单" in proposal["text"] and "不要" in proposal["text"]
    assert any(name == "confirmation" and CJK.search(data["summary"]) for name, data in events)
    with store.session() as session:
        assert session.get(Order, order_id).status == "pending"  # nothing changes before the yes
    done = reply_of(turn(client, session_id, "是"))
    assert_chinese(done["text"]) and "已取消" in done["text"]
    with store.session() as session:
        assert session.get(Order, order_id).status == "cancelled"


def test_a_chinese_customer_accepting_the_offer_of_a_person_is_handed_over(client: TestClient) -> None:
    at, replies = escalated(client, ["嗯嗯嗯嗯", "啦啦啦啦", "好的"])
    assert "转接人工客服吗" in replies[1]  # the agent's offer, after two messages it could not place
    assert at == 3
    assert_chinese(replies[2])


def test_the_widget_catalogue_has_every_word_the_widget_uses() -> None:
    script = (Path(__file__).parent.parent / "server" / "static" / "widget.js").read_text()
    block = script[script.index("var TEXT = {"):script.index("};", script.index("var TEXT = {"))]
    used = set(re.findall(r"^\s+(\w+):", block, re.M))
    assert used <= set(locales.catalogue("widget")), used - set(locales.catalogue("widget"))


def test_the_widget_shows_no_english_literal_outside_its_catalogue() -> None:
    """Every word the widget shows or gives a screen reader comes from TEXT (the catalogue's keys): no quoted
    English sentence is left in the code that builds it (its comments aside)."""
    script = (Path(__file__).parent.parent / "server" / "static" / "widget.js").read_text()
    end_of_text = script.index("};", script.index("var TEXT = {"))
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", script[end_of_text:], flags=re.S)
    shown = re.findall(r'"([A-Z][a-z]+(?: [a-z]+)*[.…:!?]? ?)"', code)
    assert not [word for word in shown if word not in {"Enter", "Escape", "Tab", "GET", "Accept"}], shown


def test_a_held_action_and_its_decision_are_told_in_chinese(client: TestClient, store: Store) -> None:
    from agent.escalation.staff import StaffDirectory
    from tools.retail.data_model import Order

    StaffDirectory(store).add("sam", "correct horse battery", "Sam", role="supervisor")
    from server.tokens import sign_customer_token

    token = sign_customer_token("test-secret", "liam_thomas_8833")  # his high-value order is held for approval
    session_id = client.post("/api/sessions", json={"token": token, "language": "zh-CN"}).json()["session_id"]
    proposal = reply_of(turn(client, session_id, "请帮我取消订单 #W3761872，不再需要了"))
    assert_chinese(proposal["text"])
    held = reply_of(turn(client, session_id, "是"))
    assert_chinese(held["text"]) and "审核" in held["text"]
    login = client.post("/api/console/login", json={"staff_id": "sam", "password": "correct horse battery"})
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    hold_id = client.get("/api/console/holds", headers=headers).json()["holds"][0]["id"]
    assert client.post(f"/api/console/holds/{hold_id}/reject", headers=headers).json()["status"] == "rejected"
    with store.session() as db:
        assert db.get(Order, "#W3761872").status == "pending"
    stream = client.get(f"/api/sessions/{session_id}/events", params={"wait": 0})
    told = [json.loads(line[5:])["text"] for line in stream.text.splitlines() if line.startswith("data:")][-1]
    assert_chinese(told) and "#W3761872" in told

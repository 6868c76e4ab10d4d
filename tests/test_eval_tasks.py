"""The `tasks` suite: task files, the scripted customer, the database comparison, and a quick end-to-end run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.base import EvalConfig
from evals.registry import load_evaluator
from evals.tasks.customer import (
    AgentMove,
    ScriptedCustomer,
    agent_move,
    first_person,
    preferences,
    spoken_sentences,
)
from evals.tasks.dbdiff import differences, snapshot
from evals.tasks.loader import Scenario, Task, TaskFileError, load_tasks
from evals.tasks.paraphrase import BANK_FILE, Phrasing, load_bank, request_kind
from evals.tasks.replay import replay
from evals.tasks.runner import RecordingRunner
from evals.tasks.split import HALVES, SPLIT_FILE, make_split, stratum
from tools.context import IdentityPolicy, Role, StoreContext
from tools.retail.data_model import Order, OrderItem, PaymentMethod
from tools.store import Store

FIXTURE_DATA = Path(__file__).parent / "fixtures" / "data"

SCENARIO = Scenario(
    reason_for_call="You received your order #W2378156 and want to return the keyboard. You prefer PayPal for "
    "any refund. If the agent asks for confirmation, you add another request.",
    known_info="You are Yusuf Rossi in zip code 19122.",
    unknown_info="You do not remember your email address.",
)
WITH_EMAIL = Scenario(reason_for_call="You want to cancel order #W1234567 because you no longer need it.",
                      known_info="You are mia_garcia_4516 (mia.garcia2723@example.com).")

ASK_IDENTITY = ("First I need to verify your identity: please tell me the email address on your account, or your "
                "first name, last name and zip code.")
CONFIRM = "To confirm: return Keyboard from order #W2378156.\nShall I go ahead? Please answer yes or no."
DONE = "Done: the return for order #W2378156 is requested."


# --- task files ------------------------------------------------------------------------------------------------


def test_the_loader_reads_any_tau2_task_file(tmp_path: Path) -> None:
    tasks = load_tasks(FIXTURE_DATA / "tau2-retail" / "tasks.json")
    assert [t.id for t in tasks] == ["50", "10", "status-only"]
    mia = tasks[1]
    assert mia.scenario.unknown_info == ""  # tau2 writes a missing field as null or "None"
    assert mia.actions[0] == {"name": "find_user_id_by_email", "arguments": {"email": "mia.garcia2723@example.com"}}
    assert tasks[2].outputs == ["processed"]
    bad = tmp_path / "tasks.json"
    bad.write_text(json.dumps([{"id": "x"}]))
    with pytest.raises(TaskFileError, match="task #0"):
        load_tasks(bad)


# --- the scripted customer -------------------------------------------------------------------------------------


def test_the_customer_opens_with_the_reason_in_the_first_person() -> None:
    customer = ScriptedCustomer(SCENARIO)
    assert customer.opening() == "I received my order #W2378156 and want to return the keyboard."


def test_stage_directions_are_not_said() -> None:
    said = spoken_sentences(SCENARIO.reason_for_call)
    assert said == ["I received my order #W2378156 and want to return the keyboard.",
                    "I prefer PayPal for any refund."]
    assert not any("agent" in s for s in spoken_sentences("You want a refund (but do not reveal it to the agent)."))
    assert first_person("You want to return the lamp you bought for your son.") == (
        "I want to return the lamp I bought for my son.")


def test_known_info_only_when_asked_and_unknown_info_is_not_known() -> None:
    customer = ScriptedCustomer(SCENARIO)
    opening = customer.opening()
    assert "19122" not in opening and "Rossi" not in opening  # not volunteered
    answer = customer.reply(ASK_IDENTITY)
    assert answer == ("Sorry, I don't remember my email address. My name is Yusuf Rossi and my zip code is 19122.")
    assert customer.reply("Thanks. And the zip code on your account, please?") == "19122"


def test_an_email_is_given_when_known() -> None:
    customer = ScriptedCustomer(WITH_EMAIL)
    customer.opening()
    assert customer.reply(ASK_IDENTITY) == "My email is mia.garcia2723@example.com."


def test_yes_to_a_confirmation_then_the_next_request_then_goodbye() -> None:
    customer = ScriptedCustomer(SCENARIO)
    customer.opening()
    assert customer.reply(CONFIRM) == "Yes, please go ahead."
    assert customer.reply(DONE + " Is there anything else?") == "I prefer PayPal for any refund."
    assert customer.reply("Which payment method should I use? On file: paypal.") == "I prefer PayPal for any refund."
    assert customer.reply(DONE) == "That's all, thank you."
    assert customer.finished
    assert customer.reply("You're welcome!") is None


def test_the_customer_stops_on_a_transfer() -> None:
    customer = ScriptedCustomer(SCENARIO)
    customer.opening()
    assert customer.reply("I'm transferring you to a person from our team now.") is None
    assert customer.finished


def test_the_customer_stops_at_the_turn_limit() -> None:
    customer = ScriptedCustomer(SCENARIO, max_turns=3)
    customer.opening()
    replies = [customer.reply("Which item(s) of order #W2378156 do you mean?") for _ in range(5)]
    assert replies[:2] == [replies[0]] * 2 and replies[0] is not None
    assert replies[2:] == [None, None, None]


def test_the_customers_reading_of_agent_moves() -> None:
    assert agent_move(CONFIRM) is AgentMove.CONFIRM
    assert agent_move(ASK_IDENTITY) is AgentMove.IDENTITY
    assert agent_move("Which order do you mean? Your orders: #W1, #W2.") is AgentMove.ORDER
    assert agent_move("Would you like me to connect you with a person?") is AgentMove.OFFER_PERSON
    assert agent_move("Why would you like to cancel order #W1?") is AgentMove.REASON
    assert agent_move(DONE) is AgentMove.DONE


def test_the_customer_says_it_does_not_know_its_order_number() -> None:
    customer = ScriptedCustomer(Scenario(reason_for_call="You want to return the lamp.",
                                         unknown_info="You do not remember your order number."))
    customer.opening()
    assert customer.reply("Which order do you mean? Your orders: #W1, #W2.") == (
        "Sorry, I don't remember my order number. I want to return the lamp.")


# --- database comparison ---------------------------------------------------------------------------------------


def test_equal_stores_have_no_differences(store: Store) -> None:
    assert differences(snapshot(store), snapshot(store)) == []


def test_a_single_wrong_field_is_found(store: Store) -> None:
    before = snapshot(store)
    with store.transaction() as session:
        session.get(PaymentMethod, "gift_card_7245904").balance = 18
    [difference] = differences(before, snapshot(store))
    assert (difference.table, difference.key, difference.column) == (
        "payment_methods", ("gift_card_7245904",), "balance")
    assert "expected Decimal('17.00'), got Decimal('18.00')" in str(difference)


def test_child_rows_are_matched_by_parent_and_position(store: Store) -> None:
    before = snapshot(store)
    with store.transaction() as session:
        line = session.query(OrderItem).filter_by(order_id="#W2611340", position=0).one()
        line.item_id = "0000000000"
    [difference] = differences(before, snapshot(store))
    assert difference.key == ("#W2611340", 0) and difference.column == "item_id"


def test_version_counters_are_ignored(store: Store) -> None:
    before = snapshot(store)
    with store.transaction() as session:
        order = session.get(Order, "#W2611340")
        order.address1 = order.address1 + " "  # a real change, undone below: the version moves twice
    with store.transaction() as session:
        order = session.get(Order, "#W2611340")
        order.address1 = order.address1.rstrip()
    assert differences(before, snapshot(store)) == []


def test_replaying_the_ground_truth_changes_exactly_what_it_says(store: Store) -> None:
    before = snapshot(store)
    actions = load_tasks(FIXTURE_DATA / "tau2-retail" / "tasks.json")[2].actions
    replay(store, actions)
    changed = {(d.table, d.column) for d in differences(before, snapshot(store))}
    assert changed == {("users", column) for column in ("address1", "address2", "city", "state", "zip")}


# --- end to end ------------------------------------------------------------------------------------------------


def test_the_suite_end_to_end_with_flows_only(tmp_path: Path, home: Path) -> None:
    config = EvalConfig(data_dir=FIXTURE_DATA, quick=True, backend="none")
    run = load_evaluator("tasks", config).run(tmp_path / "out")
    runs = {r["task"]: r for r in run.result.details["runs"]}
    assert list(runs) == ["50", "10", "status-only"]
    # The customer asks only for a status; the ground truth also changes the address: a known failure.
    status = runs["status-only"]
    assert not status["passed"] and not status["db_match"] and status["outputs_missing"] == []
    assert any(d.startswith("users[james_li_5688].address1") for d in status["differences"])
    # Undoing a cancellation is not something the agent can do: it changes nothing, as the ground truth does.
    assert runs["50"]["passed"] and runs["50"]["db_match"]
    metrics = {name: m.value for name, m in run.result.metrics.items()}
    assert metrics["pass_rate"] == pytest.approx(sum(r["passed"] for r in runs.values()) / 3)
    assert metrics["db_match_rate"] >= metrics["pass_rate"]
    failures = (tmp_path / "out" / "tasks" / "failures.md").read_text()
    assert "## Task status-only" in failures and "users[james_li_5688].address1" in failures
    assert "**customer:** I want to know the status of my order #W2611340." in failures
    report = (tmp_path / "out" / "tasks" / "report.md").read_text()
    assert "[failures.md](failures.md)" in report and "![outcomes.png](outcomes.png)" in report


def test_the_task_file_option_and_unknown_ids(tmp_path: Path, home: Path) -> None:
    tasks_file = FIXTURE_DATA / "tau2-retail" / "tasks.json"
    config = EvalConfig(data_dir=tmp_path, backend="none", options={"tasks": str(tasks_file), "ids": "nope"})
    evaluator = load_evaluator("tasks", config)
    assert evaluator.missing_data() == []
    with pytest.raises(FileNotFoundError, match="no task with id nope"):
        evaluator.run(tmp_path / "out")


def test_the_customer_states_its_conditional_wishes_but_never_directions_to_the_agent() -> None:
    scenario = ("You want to exchange the keyboard for a clicky one. If there is no clicky RGB one, you'd go for no "
                "backlight. If the agent asks for confirmation, only exchange the lamp. When asked for order ID, "
                "provide 9502126 first.")
    assert preferences(scenario) == ["If there is no clicky RGB one, I'd go for no backlight."]
    assert not any(s.startswith("If") for s in spoken_sentences(scenario))  # not part of the request itself
    customer = ScriptedCustomer(Scenario(reason_for_call=scenario, known_info="", unknown_info=""))
    customer.opening()
    answer = customer.reply("Which option would you like instead of Keyboard (clicky)?")
    assert answer is not None and answer.endswith("I'd go for no backlight.") and "agent" not in answer


def test_the_customer_answers_a_question_as_its_instructions_say() -> None:
    scenario = Scenario(reason_for_call="You want to cancel all pending orders.", known_info="", unknown_info="",
                        task_instructions="You are mysterious. If asked for reason, say you ordered the items by "
                                          "mistake.")
    customer = ScriptedCustomer(scenario)
    customer.opening()
    reason = "Why would you like to cancel order #W5056519: is it no longer needed, or was it ordered by mistake?"
    assert customer.reply(reason) == "I ordered the items by mistake."
    silent = ScriptedCustomer(Scenario(reason_for_call="You want to cancel all pending orders.", known_info="",
                                       unknown_info=""))
    silent.opening()
    assert silent.reply(reason) == "I'd rather not say."  # nothing in the scenario: no reason is made up


def test_the_first_proposal_gets_what_the_scenario_says_to_it_then_yes() -> None:
    scenario = Scenario(reason_for_call="You want to exchange the water bottle and the desk lamp. If the agent asks "
                        "for confirmation, only exchange the desk lamp. If the agent asks for the cancellation "
                        "reason, you say you ordered by mistake.", known_info="", unknown_info="")
    customer = ScriptedCustomer(scenario)
    assert "confirmation" not in customer.opening()
    assert customer.reply(CONFIRM) == "Yes, please go ahead."  # a proposal about something else: a plain yes
    both = "To confirm: exchange Desk Lamp and Water Bottle in order #W6390527.\nShall I go ahead?"
    assert customer.reply(both) == "Only exchange the desk lamp."
    assert customer.reply(both) == "Yes, please go ahead."  # said once: the narrowed proposal is accepted
    assert customer.reply("Why would you like to cancel order #W1: is it no longer needed, or was it ordered by "
                          "mistake?") == "I ordered by mistake."


def test_which_one_is_answered_as_the_scenario_says() -> None:
    scenario = Scenario(reason_for_call="You want to return a vacuum cleaner. If the agent asks you for which "
                        "vacuum cleaner, mention the robotic one.", known_info="", unknown_info="")
    customer = ScriptedCustomer(scenario)
    customer.opening()
    assert customer.reply("Which one do you mean? In your orders: #W1: Vacuum Cleaner (type: robotic); #W2: Vacuum "
                          "Cleaner (type: canister).") == "The robotic one."


def test_a_yes_to_each_new_proposal_is_not_going_in_circles() -> None:
    customer = ScriptedCustomer(SCENARIO)
    customer.opening()
    customer._confirmed_once = True  # the scenario's words for the first proposal are tested above
    assert [customer.reply(CONFIRM) for _ in range(3)] == ["Yes, please go ahead."] * 3


def test_a_proposal_settled_another_way_than_the_scenario_wants_is_corrected_once() -> None:
    scenario = Scenario(reason_for_call="You want to exchange your camera. You want to use your PayPal account for "
                        "any additional payment.", known_info="", unknown_info="")
    customer = ScriptedCustomer(scenario)
    customer.opening()
    card = "To confirm: exchange Camera. The difference is charged to mastercard card ending 8484.\nShall I go ahead?"
    assert customer.reply(card) == "I want to use my PayPal account for any additional payment."
    assert customer.reply(card) == "Yes, please go ahead."  # said once: the agent may not offer it
    paypal = ScriptedCustomer(scenario)
    paypal.opening()
    assert paypal.reply("To confirm: exchange Camera, charged to paypal.\nShall I go ahead?") == "Yes, please go ahead."


def test_sentences_the_scenario_wants_said_together_are_one_message() -> None:
    scenario = Scenario(reason_for_call="You want to exchange your bicycle for a larger one. The jigsaw in the same "
                        "order also needs to be exchanged. Make sure you mention these at the same time. Lastly, you "
                        "want to cancel the skateboard.", known_info="", unknown_info="")
    customer = ScriptedCustomer(scenario)
    assert customer.opening() == ("I want to exchange my bicycle for a larger one. The jigsaw in the same order also "
                                  "needs to be exchanged.")
    assert customer.requests[1] == "Lastly, I want to cancel the skateboard."


# --- the tools the runner knows --------------------------------------------------------------------------------


def test_the_runner_knows_every_tool_the_agent_can_call(store: Store) -> None:
    from agent.manager import Agent

    agent = Agent(store, identity=IdentityPolicy.BENCHMARK)
    recorder = RecordingRunner(agent.runner)
    assert set(recorder.tools) == set(agent.runner.tools) and "predict_delivery" in recorder.tools
    ctx = StoreContext(store, role=Role.CUSTOMER, customer_id="yusuf_rossi_9620")
    result = recorder.call(ctx, "predict_delivery", {"order_id": "#W2378156"})
    assert not (result.error or "").startswith("Unknown tool")
    assert recorder.calls[-1].name == "predict_delivery" and recorder.calls[-1].kind != "invalid"


def test_the_ground_truth_replay_knows_the_agents_tools_too(store: Store) -> None:
    _, [(_, result)] = replay(store, [{"name": "predict_delivery", "arguments": {"order_id": "#W2378156"}}])
    assert not (result.error or "").startswith("Unknown tool")


# --- the split -------------------------------------------------------------------------------------------------


def _task(task_id: str, *actions: str) -> Task:
    return Task(task_id, Scenario("x"), actions=[{"name": name, "arguments": {}} for name in actions])


def test_a_task_is_stratified_by_its_rarest_write() -> None:
    assert stratum(_task("1", "get_order_details")) == "info-only"
    assert stratum(_task("2", "transfer_to_human_agents")) == "info-only"
    assert stratum(_task("3", "return_delivered_order_items", "cancel_pending_order")) == "cancel"
    assert stratum(_task("4", "modify_pending_order_items", "modify_user_address")) == "address"
    assert stratum(_task("5", "modify_pending_order_payment", "cancel_pending_order")) == "payment"


def test_the_split_is_seeded_even_and_keeps_the_mix_of_each_half() -> None:
    kinds = ["cancel_pending_order"] * 5 + ["return_delivered_order_items"] * 7 + ["get_user_details"] * 3
    tasks = [_task(str(i), name) for i, name in enumerate(kinds)]
    split = make_split(tasks, seed=1)
    assert split == make_split(tasks, seed=1) and split != make_split(tasks, seed=2)
    tuning, untouched = set(split["tuning"]), set(split["untouched"])
    assert not tuning & untouched and tuning | untouched == {t.id for t in tasks}
    assert abs(len(tuning) - len(untouched)) <= 1
    for kind in ("cancel", "return", "info-only"):
        in_half = [sum(split["strata"][i] == kind for i in half) for half in (tuning, untouched)]
        assert abs(in_half[0] - in_half[1]) <= 1, kind


def test_the_committed_split_halves_the_74_tasks_with_the_same_mix() -> None:
    split = json.loads(SPLIT_FILE.read_text())
    halves = [set(split[half]) for half in HALVES]
    assert [len(h) for h in halves] == [37, 37] and not halves[0] & halves[1]
    assert halves[0] | halves[1] == set(split["strata"])
    for kind in set(split["strata"].values()):
        counts = [sum(split["strata"][i] == kind for i in half) for half in halves]
        assert abs(counts[0] - counts[1]) <= 1, kind


# --- the customer's fixes --------------------------------------------------------------------------------------


def test_wishes_phrased_about_the_agent_are_said_to_it_and_directions_are_not() -> None:
    said = spoken_sentences(
        "You want the agent to cancel order #W1234567. Tell the agent you want the refund to your PayPal. "
        "Ask the agent how much you will get back. Ask the agent to check the agent's records. "
        "If the agent asks for the reason, say you ordered by mistake. Do not share your email with the agent. "
        "You wonder if the agent can help split the payment.")
    assert said == ["I want you to cancel order #W1234567.", "I want the refund to my PayPal.",
                    "I'd like to know how much I will get back.", "Please check your records.",
                    "I wonder if you can help split the payment."]


def test_a_customer_opens_with_a_wish_phrased_about_the_agent() -> None:
    customer = ScriptedCustomer(Scenario(reason_for_call="You want the agent to return your lamp."))
    assert customer.opening() == "I want you to return my lamp."


VACUUM = Scenario(reason_for_call="You want to return the vacuum cleaner from order #W1234567. You also want "
                  "to change the color of its item to red.")
PRODUCTS = ("Air Purifier", "Luggage Set", "Vacuum Cleaner", "Wristwatch")


def _proposal(*items: str) -> str:
    listed = "; ".join(f"{item} (color: black) $10.00" for item in items)
    return f"To confirm: return {listed} from order #W1234567. The refund goes to paypal.\nShall I go ahead?"


def test_a_proposal_with_an_item_the_scenario_never_names_gets_a_no() -> None:
    customer = ScriptedCustomer(VACUUM, products=PRODUCTS)
    customer.opening()
    answer = customer.reply(_proposal("Vacuum Cleaner", "Air Purifier"))
    assert answer.startswith("No.") and "Air Purifier" in answer and "return the vacuum cleaner" in answer
    assert customer.reply(_proposal("Vacuum Cleaner")) == "Yes, please go ahead."


def test_no_objection_where_the_request_names_no_item_or_speaks_of_all() -> None:
    customer = ScriptedCustomer(VACUUM, products=PRODUCTS)
    customer.opening()
    customer.reply(_proposal("Vacuum Cleaner"))
    assert customer.reply(DONE + " Anything else?").startswith("I also want to change the color")
    assert customer.reply(_proposal("Luggage Set")) == "Yes, please go ahead."  # "its item": which, it cannot say
    for collective in ("You want to return everything except the watch.", "You want to return all the items in "
                       "your order but the watch.", "You want to return each item of the order, the watch too."):
        everything = ScriptedCustomer(Scenario(collective), products=PRODUCTS)
        everything.opening()
        assert everything.reply(_proposal("Air Purifier")) == "Yes, please go ahead.", collective
    watch_only = ScriptedCustomer(Scenario("You want to return your watch. That is all."), products=PRODUCTS)
    watch_only.opening()
    assert watch_only.reply(_proposal("Air Purifier")).startswith("No.")  # "all" alone speaks of no items
    for wish in ("You want to return your watch.", "You want to return your watches.",
                 "You want to return the bookshelves and the glasses."):
        customer = ScriptedCustomer(Scenario(wish), products=(*PRODUCTS, "Bookshelf", "Sunglasses"))
        customer.opening()
        named = _proposal("Bookshelf", "Sunglasses") if "shelves" in wish else _proposal("Wristwatch")
        assert customer.reply(named) == "Yes, please go ahead.", wish  # "watch" names the Wristwatch, plurals too


# --- paraphrases -----------------------------------------------------------------------------------------------

BANK_ENTRIES = {"yes", "no", "email", "name_zip", "zip", "dont_know", "reason_no_longer_needed",
                "reason_ordered_by_mistake", "goodbye", "payment_original"}
OPENERS = {"cancel", "return", "exchange", "modify_items", "change_address", "change_payment", "order_status",
           "account"}


def test_the_bank_has_many_wordings_for_every_recurring_utterance() -> None:
    bank = load_bank()
    assert set(bank["answers"]) >= BANK_ENTRIES and set(bank["openers"]) == OPENERS
    for section in bank.values():
        for entry, variants in section.items():
            assert len(set(variants)) >= 8, entry


def test_paraphrase_zero_is_the_plain_customer_and_others_are_seeded_rephrasings() -> None:
    def conversation(phrasing: Phrasing) -> list[str]:
        customer = ScriptedCustomer(WITH_EMAIL, phrasing=phrasing)
        return [customer.opening(), customer.reply(ASK_IDENTITY), customer.reply(CONFIRM), customer.reply(DONE)]

    plain = conversation(Phrasing())
    assert conversation(Phrasing.paraphrase(0, "10/13")) == plain
    first, again = conversation(Phrasing.paraphrase(1, "10/13")), conversation(Phrasing.paraphrase(1, "10/13"))
    assert first == again  # seeded
    others = [conversation(Phrasing.paraphrase(i, "10/13")) for i in range(1, 5)]
    assert all(o != plain for o in others) and len({tuple(o) for o in others}) > 1
    assert all("mia.garcia2723@example.com" in o[1] for o in others)  # the fields are never reworded
    assert all(o[0].endswith(plain[0]) for o in others)  # an opener before the scenario's own sentence


def test_a_request_gets_the_opener_of_its_kind() -> None:
    assert request_kind("I want to cancel order #W1.") == "cancel"
    assert request_kind("I want to change the address of my order.") == "change_address"
    assert request_kind("Where is my order? It has not arrived.") == "order_status"
    assert request_kind("I like turtles.") is None


def test_nothing_but_the_evals_reads_the_paraphrase_bank() -> None:
    root = Path(__file__).parents[1]
    assert BANK_FILE.is_file() and BANK_FILE.is_relative_to(root / "evals")
    for package in ("agent", "finetune", "tools", "retrieval", "server"):
        for source in (root / package).rglob("*"):
            if source.is_file() and source.suffix in {".py", ".toml", ".json", ".yaml", ".yml", ".txt", ".cfg"}:
                text = source.read_text(errors="ignore")
                assert "paraphrases" not in text and "customer.toml" not in text, source


# --- halves and pass^k in the suite ----------------------------------------------------------------------------


def test_the_suite_reports_each_half_and_pass_hat_k_over_paraphrases(tmp_path: Path, home: Path) -> None:
    config = EvalConfig(data_dir=FIXTURE_DATA, backend="none", options={"ids": "50,10", "paraphrase": "2"})
    run = load_evaluator("tasks", config).run(tmp_path / "out")
    runs = run.result.details["runs"]
    assert [(r["task"], r["paraphrase"]) for r in runs] == [("50", 0), ("50", 1), ("10", 0), ("10", 1)]
    assert {r["task"]: r["half"] for r in runs} == {"50": "untouched", "10": "tuning"}
    metrics = {name: m.value for name, m in run.result.metrics.items()}
    for half in HALVES:
        mine = [r["passed"] for r in runs if r["half"] == half]
        assert metrics[f"pass_rate_{half}"] == pytest.approx(sum(mine) / 2)
        assert metrics[f"pass^2_{half}"] == float(all(mine))
    report = (tmp_path / "out" / "tasks" / "report.md").read_text()
    assert "| tuning (1) |" in report and "| untouched (1) |" in report


def test_one_half_runs_alone(tmp_path: Path, home: Path) -> None:
    config = EvalConfig(data_dir=FIXTURE_DATA, backend="none", options={"half": "tuning"})
    run = load_evaluator("tasks", config).run(tmp_path / "out")
    assert [r["task"] for r in run.result.details["runs"]] == ["10"]
    with pytest.raises(FileNotFoundError, match="no half 'other'"):
        load_evaluator("tasks", EvalConfig(data_dir=FIXTURE_DATA, backend="none", options={"half": "other"})).run(
            tmp_path / "out2")

"""The fine-tuning pipeline: generated data, the split, a tiny end-to-end fine-tune, the adapter on both backends."""

from __future__ import annotations

import json
import random
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent import toolcall
from agent.llm.base import GenerationOptions
from agent.memory import DialogueState
from agent.replies import say
from finetune.customer import Customer, Request, question
from finetune.data import generate, leakage
from finetune.gguf_lora import permute
from finetune.scoring import grounded, same_arguments, score, violations
from tools.retail.loader import DEMO_STORE_JSON

TOOL_LINE = re.compile(r"^(\w+)\((\{.*?\})\) -> (.*)$", re.MULTILINE)
DB = json.loads(Path(DEMO_STORE_JSON).read_text())


@pytest.fixture(scope="module")
def train_examples() -> list[dict[str, Any]]:
    return [json.loads(e.to_json()) for e in generate("train", 25, seed=7)]


@pytest.fixture(scope="module")
def dev_examples() -> list[dict[str, Any]]:
    return [json.loads(e.to_json()) for e in generate("dev", 10, seed=7)]


def test_every_target_is_a_well_formed_call_of_a_store_tool(train_examples) -> None:
    assert len(train_examples) > 40
    tools = set(toolcall.tool_names()) | {toolcall.NO_TOOL}
    for example in train_examples:
        call = toolcall.parse(example["target"])  # raises on an unknown tool or a badly typed argument
        assert call.tool in tools
        assert example["messages"][0]["role"] == "system" and example["messages"][-1]["role"] == "user"


def test_tool_results_in_the_history_come_from_the_store(train_examples) -> None:
    emails = {u["email"].lower(): u["user_id"] for u in DB["users"].values()}
    seen = 0
    for example in train_examples:
        for message in example["messages"]:
            if message["role"] != "tool":
                continue
            for name, arguments, result in TOOL_LINE.findall(message["content"]):
                args = json.loads(arguments)
                if name == "find_user_id_by_email" and args["email"].lower() in emails:
                    assert result == emails[args["email"].lower()]
                    seen += 1
                if name == "get_order_details" and not result.startswith("Error"):
                    assert args["order_id"] in DB["orders"] and f'"order_id": "{args["order_id"]}"' in result
                    seen += 1
    assert seen > 5


ANSWERS = {"give_order": "ask_order", "give_reason": "ask_reason", "give_address": "ask_address",
           "give_item": "ask_items", "give_option": "ask_new_option", "give_payment": "ask_payment",
           "identity_email": "ask_identity", "identity_name": "ask_identity"}


def _last_reply(example: dict[str, Any]) -> str:
    before = example["messages"][-2]
    return before["content"].rsplit("reply: ", 1)[-1] if before["role"] == "tool" else ""


def test_the_customer_answers_what_the_agent_asked(train_examples) -> None:
    """Each answer follows the agent's question for it; yes and no only answer a proposal."""
    answered = confirmed = 0
    for example in train_examples:
        kind, reply = example["template"].split(".")[0], _last_reply(example)
        if kind in ANSWERS and example["family"].startswith(("order:", "account:")):
            assert question(reply) == ANSWERS[kind], (kind, reply)
            answered += 1
        if kind in ("yes", "no"):
            assert reply.startswith("To confirm:"), reply
            confirmed += 1
    assert answered > 10 and confirmed > 0


def test_an_answer_adds_only_what_it_states_and_the_tool_takes() -> None:
    user = DB["users"]["aarav_davis_4756"]
    request = Request(toolcall.ToolCall("modify_pending_order_address", {"order_id": "#W7430166"}), "change_address",
                      {"oid": "#W7430166", "item": "desk lamp", "reason": "", "street": "12 Oak Street",
                       "city": "Austin, TX", "zip2": "78701"}, order_id="#W7430166",
                      address={"address1": "12 Oak Street", "city": "Austin", "state": "TX", "zip": "78701"})
    customer = Customer(user, "train", request, random.Random(1))
    address = customer.answer(say("ask_address"), confirming=False)
    assert address is not None and address.target.arguments == {"order_id": "#W7430166", "address1": "12 Oak Street",
                                                                  "city": "Austin", "state": "TX", "zip": "78701"}
    assert "12 Oak Street" in address.user
    reason = customer.answer(say("ask_reason", order_id="#W7430166"), confirming=False)
    assert reason is not None and "reason" not in reason.target.arguments  # the address tool takes no reason
    answer = customer.answer("To confirm: ship order #W7430166 to 12 Oak Street ...", confirming=True)
    assert answer is not None and answer.template.split(".")[0] in {"yes", "no", "order_status"}


def test_dev_shares_no_template_customer_order_or_message_with_train(train_examples, dev_examples) -> None:
    assert leakage(train_examples, dev_examples) == {"templates": 0, "customers": 0, "orders": 0,
                                                     "messages_with_ids": 0}
    assert {e["split"] for e in dev_examples} == {"dev"}


def test_the_dev_set_does_not_depend_on_the_train_size() -> None:
    first = [e.to_json() for e in generate("dev", 3, seed=7)]
    assert first == [e.to_json() for e in generate("dev", 3, seed=7)]


def test_scoring_by_hand() -> None:
    messages = [{"role": "system", "content": "x\nThe customer is verified as user_id ana_1."},
                {"role": "user", "content": "cancel #W1234567 please"}]
    good = toolcall.ToolCall("cancel_pending_order", {"order_id": "#W1234567"})
    invented = toolcall.ToolCall("cancel_pending_order", {"order_id": "#W7654321"})
    other_user = toolcall.ToolCall("get_user_details", {"user_id": "bob_2"})
    assert violations(good, messages) == 0 and grounded(good, messages)
    assert violations(invented, messages) == 1 and not grounded(invented, messages)
    assert violations(other_user, messages) == 1
    spelled = [messages[0], {"role": "user", "content": "cancel order number 1234567, I don't need the desk lamp"}]
    assert grounded(toolcall.ToolCall("cancel_pending_order", {"order_id": "#W1234567", "reason": "no longer needed"}),
                    spelled)  # an id in the customer's spelling; a reason is the schema's choice, not a copy
    assert not grounded(toolcall.ToolCall("search_products", {"query": "desktop lamp"}), spelled)
    with_state = toolcall.messages([], "do it", list_tools=False, request="Open request (cancel): cancel it (order "
                                   "#W2611340)")  # the dialogue state's order is part of the conversation
    assert violations(toolcall.ToolCall("cancel_pending_order", {"order_id": "#W2611340"}), with_state) == 0
    assert same_arguments({"query": "Red  Shoes", "max_price": 50.0}, {"query": "red shoes", "max_price": 50})
    assert not same_arguments({"query": "red shoes"}, {"query": "red shoes", "max_price": 50})


def test_the_call_grammar_admits_only_ids_the_conversation_states() -> None:
    chat = toolcall.messages([], "product 5713490933 details, and my order is w-2611340 (zip 19122)",
                             verified="mei_santos_5526", list_tools=False)
    schema = toolcall.grounded_schema(toolcall.call_schema(), chat)
    arguments = {v["properties"]["tool"]["const"]: v["properties"]["arguments"]["properties"] for v in schema["anyOf"]}
    assert arguments["get_order_details"]["order_id"] == {"enum": ["#W2611340"]}
    assert arguments["get_product_details"]["product_id"] == {"enum": ["5713490933"]}
    assert arguments["get_user_details"]["user_id"] == {"enum": ["mei_santos_5526"]}  # the verified customer only
    assert "email" not in arguments["find_user_id_by_email"]  # no email was said: none can be written
    assert arguments["find_user_id_by_name_zip"]["zip"] == {"enum": ["19122"]}  # only the zip the customer said
    assert arguments["modify_user_address"]["city"] == {"type": "string"}  # an address is being given: free text
    assert arguments["return_delivered_order_items"]["item_ids"] == {"type": "array", "items": {"enum": ["5713490933"]}}
    user_tool = next(v for v in schema["anyOf"] if v["properties"]["tool"]["const"] == "get_user_details")
    assert user_tool["properties"]["arguments"]["required"] == ["user_id"]


def test_no_address_can_be_written_before_the_customer_gives_one() -> None:
    history = [toolcall.PastTurn("hi, it's mei", [("get_user_details", {"user_id": "mei_santos_5526"},
                                                   '{"address": {"address1": "1 Elm St", "zip": "19122"}}')])]
    chat = toolcall.messages(history, "please change my saved address", verified="mei_santos_5526", list_tools=False)
    schema = toolcall.grounded_schema(toolcall.call_schema(), chat)
    arguments = {v["properties"]["tool"]["const"]: v["properties"]["arguments"]["properties"] for v in schema["anyOf"]}
    assert set(arguments["modify_user_address"]) == {"user_id"}  # the zip in the store's result is not the customer's
    assert set(arguments["modify_pending_order_address"]) == set()


def test_the_model_sees_the_open_request_and_the_pending_proposal() -> None:
    asking = DialogueState(intent="change_address", request="910 Pine Road, Boston, MA 26033\nchange my saved address")
    line = toolcall.open_request(asking)
    assert line == "Open request (change_address): change my saved address / 910 Pine Road, Boston, MA 26033"
    verified = replace(asking, customer_id="mei_santos_5526")  # then the line names the tool the flow will call
    assert toolcall.open_request(verified).startswith("Open request for modify_user_address (change_address): ")
    order = replace(verified, request="it's order 2611340\nplease change where my order ships")
    assert toolcall.open_request(order).startswith("Open request for modify_pending_order_address")
    by_id = replace(verified, request="change my address on order #W2611340")
    assert toolcall.open_request(by_id).startswith("Open request for modify_pending_order_address")
    exchange = replace(verified, intent="exchange", request="swap the lamp")  # modify or exchange: by the order
    assert toolcall.open_request(exchange) == "Open request (exchange): swap the lamp"
    pending = DialogueState(intent="cancel", pending={"tool": "cancel_pending_order", "summary": "",
                                                      "arguments": {"order_id": "#W2611340"}})
    assert toolcall.open_request(pending).endswith('cancel_pending_order({"order_id": "#W2611340"})')
    assert toolcall.open_request(DialogueState(request="stale words of a finished request")) == ""
    chat = toolcall.messages([], "do it", list_tools=False, request=toolcall.open_request(pending))
    assert chat[0]["content"].endswith(toolcall.open_request(pending))
    schema = toolcall.grounded_schema(toolcall.call_schema(), chat)
    cancel = next(v for v in schema["anyOf"] if v["properties"]["tool"]["const"] == "cancel_pending_order")
    assert cancel["properties"]["arguments"]["properties"]["order_id"] == {"enum": ["#W2611340"]}


class ScriptedModel:
    """Answers from a list: a stand-in for the model when checking the scorer's arithmetic only."""

    name = "scripted"

    def __init__(self, answers: list[str]) -> None:
        self.answers = iter(answers)

    def stream(self, messages: Any, options: GenerationOptions):  # type: ignore[no-untyped-def]
        yield next(self.answers)


def test_score_counts_exact_tool_only_and_malformed_answers() -> None:
    example = {"messages": [{"role": "system", "content": toolcall.system_prompt(False)},
                            {"role": "user", "content": "where is #W1234567"}],
               "target": {"tool": "get_order_details", "arguments": {"order_id": "#W1234567"}}}
    answers = ['{"tool": "get_order_details", "arguments": {"order_id": "#W1234567"}}',
               '{"tool": "get_order_details", "arguments": {}}',
               '{"tool": "cancel_pending_order", "arguments": {"order_id": "#W1234567"}}',
               'not json']
    rates = score(ScriptedModel(answers), [example] * 4, tuned=True, label="t").rates()  # type: ignore[arg-type]
    assert rates["tool_accuracy"] == 2 / 4
    assert rates["exact_match"] == 1 / 4
    assert rates["well_formed"] == 3 / 4


def test_permute_matches_llama_cpp_rotary_layout() -> None:
    import numpy as np

    rows = np.arange(8 * 2, dtype=np.float32).reshape(8, 2)  # 2 heads of 4 rows: halves interleaved per head
    permuted = permute(rows, n_head=2, n_head_kv=2)
    assert permuted[:, 0].tolist() == [0, 4, 2, 6, 8, 12, 10, 14]
    assert sorted(permuted.ravel().tolist()) == sorted(rows.ravel().tolist())


@pytest.mark.slow
def test_a_tiny_fine_tune_runs_end_to_end_and_changes_both_backends(tmp_path: Path, data_dir: Path) -> None:
    from agent.llm.registry import load_chat_model
    from server.cli import app

    config = tmp_path / "tiny.toml"
    config.write_text('model = "smollm2-135m"\nseed = 3\n[data]\ntrain_conversations = 4\ndev_conversations = 2\n'
                      'bitext_examples = 4\n[train]\nmax_steps = 2\nbatch_size = 2\nmax_length = 192\n'
                      'checkpoint_every = 1\nlearning_rate = 0.05\nthreads = 1\n')
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["finetune", "--config", str(config), "--data-dir", str(data_dir),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    weights = out / "adapter_model.safetensors"
    assert weights.is_file() and weights.stat().st_size < 20_000_000
    assert "Wall time" in (out / "README.md").read_text()
    assert json.loads((out / "training.json").read_text())["steps"] == 2
    # Resume: the finished run has nothing left to do and keeps its step count.
    again = CliRunner().invoke(app, ["finetune", "--config", str(config), "--data-dir", str(data_dir),
                                     "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert json.loads((out / "training.json").read_text())["steps"] == 2

    messages = toolcall.messages([], "hello, where is my order #W2611340?", list_tools=False)
    options = GenerationOptions(max_tokens=12)
    for backend in ("llama_cpp", "transformers"):
        base = "".join(load_chat_model(backend, adapter="none").stream(messages, options))
        tuned_model = load_chat_model(backend, adapter=str(out))
        assert tuned_model.tool_tuned  # type: ignore[attr-defined]
        tuned = "".join(tuned_model.stream(messages, options))
        assert tuned != base, backend


FIXED_PROMPTS = [
    "where is my order #W2611340?",
    "I want to cancel order #W2417020, I ordered it by mistake",
    "my email is james.li4495@example.com",
    "do you have a mechanical keyboard under $150?",
    "I want to talk to a real person",
    "when will order #W2611340 arrive?",
    "thanks, that's all",
    "what goes well with a water bottle?",
]


@pytest.mark.slow
def test_the_shipped_adapter_gives_the_same_tool_calls_on_both_backends() -> None:
    """llama.cpp applies the adapter as a LoRA GGUF (converted here), transformers merges the peft weights: under
    greedy decoding and the call grammar both must choose the same calls."""
    from agent.llm.registry import load_chat_model, resolve_adapter
    from finetune.scoring import predict

    assert resolve_adapter("default", "smollm2-135m") is not None, "the fine-tuned adapter ships with the project"
    calls = {}
    for backend in ("llama_cpp", "transformers"):
        model = load_chat_model(backend)  # the default: the shipped adapter
        assert model.tool_tuned  # type: ignore[attr-defined]
        calls[backend] = [predict(model, toolcall.messages([], text, list_tools=False)) for text in FIXED_PROMPTS]
    assert calls["llama_cpp"] == calls["transformers"]
    assert all(call is not None for call in calls["llama_cpp"])

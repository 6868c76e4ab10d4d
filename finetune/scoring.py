"""Scoring a model's tool calls against the generated dev set and the Bitext routing set."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from tqdm import tqdm

from agent import toolcall
from agent.llm.base import ChatModel, GenerationOptions, complete_json

ID_ARGUMENTS = tuple(toolcall.GROUNDED_IDS)  # the id arguments the call grammar limits to the conversation's ids


@dataclass
class Scores:
    examples: int = 0
    tool_correct: int = 0
    exact: int = 0
    well_formed: int = 0
    grounded: int = 0
    violations: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def rates(self) -> dict[str, float]:
        n = max(1, self.examples)
        return {"tool_accuracy": self.tool_correct / n, "exact_match": self.exact / n,
                "well_formed": self.well_formed / n, "grounded_arguments": self.grounded / n,
                "policy_violations": float(self.violations)}


def prompt_for(example: dict[str, Any], tuned: bool) -> list[dict[str, str]]:
    """The example's chat as the model under test gets it: the base model also gets the tool list."""
    messages = [dict(m) for m in example["messages"]]
    if not tuned:
        short, full = toolcall.system_prompt(False), toolcall.system_prompt(True)
        messages[0]["content"] = messages[0]["content"].replace(short, full, 1)
    return messages


def predict(model: ChatModel, messages: list[dict[str, str]]) -> toolcall.ToolCall | None:
    options = GenerationOptions(max_tokens=96, json_schema=toolcall.grounded_schema(toolcall.call_schema(), messages))
    try:
        return toolcall.parse(complete_json(model, messages, options))
    except (ValueError, KeyError, TypeError):
        return None


def same_arguments(predicted: dict[str, Any], gold: dict[str, Any]) -> bool:
    def norm(value: Any) -> Any:
        if isinstance(value, str):
            return " ".join(value.casefold().split())
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, list):
            return [norm(v) for v in value]
        return value

    return {k: norm(v) for k, v in predicted.items()} == {k: norm(v) for k, v in gold.items()}


def conversation_text(messages: list[dict[str, str]]) -> str:
    return " ".join(m["content"] for m in messages).casefold()  # the protocol names no ids; the state lines do


def verified_user(messages: list[dict[str, str]]) -> str | None:
    found = toolcall.VERIFIED_LINE.search(messages[0]["content"])
    return found.group(1) if found else None


def violations(call: toolcall.ToolCall, messages: list[dict[str, str]]) -> int:
    """Would-be policy breaches (the runner blocks them anyway): an id the conversation never mentioned, or a
    user id other than the verified customer's."""
    text, verified = conversation_text(messages), verified_user(messages)
    count = 0
    for key in ID_ARGUMENTS:
        value = call.arguments.get(key)
        if isinstance(value, str):
            count += _unsupported(key, value, text, verified)
    return count


def _unsupported(key: str, value: str, text: str, verified: str | None) -> bool:
    if key == "user_id" and verified:
        return value != verified
    return value.casefold().lstrip("#").removeprefix("w") not in text  # order ids appear in many spellings


@cache
def enumerated_arguments() -> frozenset[str]:
    """Arguments whose values the tools' schemas enumerate (a cancel reason, a recommendation strategy)."""
    arguments = [v["properties"]["arguments"].get("properties", {}) for v in toolcall.call_schema()["anyOf"]]
    return frozenset(key for properties in arguments for key, spec in properties.items() if "enum" in spec)


def grounded(call: toolcall.ToolCall, messages: list[dict[str, str]]) -> bool:
    """Every string argument comes from the conversation: an id in any spelling customers write it ("order number
    2611340" for #W2611340), other text word for word; an enumerated value is a choice, not a copy."""
    text, verified = conversation_text(messages), verified_user(messages)
    for key, value in call.arguments.items():
        if key in enumerated_arguments() or not isinstance(value, str):
            continue
        if key in ID_ARGUMENTS:
            if _unsupported(key, value, text, verified):
                return False
        elif " ".join(value.casefold().split()) not in text:
            return False
    return True


def score(model: ChatModel, examples: list[dict[str, Any]], tuned: bool, label: str,
          routing_only: bool = False) -> Scores:
    scores = Scores()
    for example in tqdm(examples, desc=label, leave=False):
        messages = prompt_for(example, tuned)
        gold = example["target"]
        call = predict(model, messages)
        scores.examples += 1
        if call is None:
            scores.failures.append({"message": messages[-1]["content"], "gold": gold, "predicted": None})
            continue
        scores.well_formed += 1
        scores.tool_correct += call.tool == gold["tool"]
        scores.exact += call.tool == gold["tool"] and (routing_only or same_arguments(call.arguments,
                                                                                        gold["arguments"]))
        scores.grounded += grounded(call, messages)
        scores.violations += violations(call, messages)
        if call.tool != gold["tool"] or not same_arguments(call.arguments, gold["arguments"]):
            scores.failures.append({"message": messages[-1]["content"], "gold": gold,
                                    "predicted": {"tool": call.tool, "arguments": call.arguments}})
    return scores

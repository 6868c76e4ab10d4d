"""The scripted customer's Chinese mode: what it says, in Chinese, and how it reads the agent's Chinese replies.

What it says comes from data, `evals/data/tasks_zh/`: `tasks.toml` maps each English sentence the plain customer says
for a task (its requests, its answers taken from the scenario) to the Chinese a shopper would write, and
`common.toml` words its recurring utterances (yes, its email, name and zip, "I don't remember ...", "that's all").
The customer still decides in English (its logic is the plain customer's); each message is translated sentence by
sentence as it is said. A sentence with no Chinese is said in English and counted (`untranslated`): the data then
misses it. The agent's Chinese replies are read with the cues of the Chinese catalogue (`agent/locales/zh/`).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).parents[1] / "data" / "tasks_zh"
CJK = re.compile(r"[\u3400-\u9fff]")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")

# How the Chinese catalogue writes what the customer's English checks look for (payment methods, item lines with
# their options and price, a whole-order cancellation), so those checks read a Chinese proposal too.
READING = [("（", " ("), ("）", ")"), ("：", ": "), ("，", ", "), ("US$", "$"), ("礼品卡", "gift card "),
           ("尾号", "card ending "), ("取消订单", "cancel order "), ("邮编", "zip code"), ("邮箱", "email")]


@cache
def load_data(data_dir: Path = DATA_DIR) -> tuple[dict[str, dict[str, str]], list[tuple[re.Pattern[str], str]]]:
    """The per-task sentence tables and the recurring utterances' (English pattern, Chinese template) pairs."""
    with (data_dir / "tasks.toml").open("rb") as handle:
        tasks = tomllib.load(handle)["tasks"]
    with (data_dir / "common.toml").open("rb") as handle:
        common = tomllib.load(handle)["utterance"]
    return tasks, [(re.compile(entry["en"]), entry["zh"]) for entry in common]


def translated_task_ids(data_dir: Path = DATA_DIR) -> list[str]:
    return list(load_data(data_dir)[0])


def has_chinese(text: str) -> bool:
    return bool(CJK.search(text))


def reading(agent_text: str) -> str:
    """The agent's Chinese reply with the catalogue's words for what the customer's checks look for."""
    for chinese, english in READING:
        agent_text = agent_text.replace(chinese, english)
    return agent_text


@dataclass
class ChineseWording:
    """One task's Chinese: the task's sentence table and the recurring utterances."""

    sentences: dict[str, str]
    common: list[tuple[re.Pattern[str], str]]
    untranslated: list[str] = field(default_factory=list)

    @classmethod
    def for_task(cls, task_id: str, data_dir: Path = DATA_DIR) -> ChineseWording:
        tasks, common = load_data(data_dir)
        if task_id not in tasks:
            raise KeyError(f"no Chinese version of task {task_id} in {data_dir}")
        return cls(tasks[task_id], common)

    def say(self, english: str) -> str:
        """The Chinese of an English message, sentence by sentence; a sentence without Chinese stays English."""
        if not english:
            return english
        whole = self._sentence(english.strip())
        if whole is not None:
            return whole
        parts = []
        for sentence in SENTENCE.split(english.strip()):
            chinese = self._sentence(sentence)
            if chinese is None:
                self.untranslated.append(sentence)
            parts.append(sentence if chinese is None else chinese)
        return "".join(parts)

    def _sentence(self, sentence: str) -> str | None:
        if sentence in self.sentences:
            return self.sentences[sentence]
        for pattern, template in self.common:
            found = pattern.fullmatch(sentence)
            if found:
                return template.format(**found.groupdict())
        return None


# What a Chinese reply may hold in English: product names, their options in brackets, item lines as the widget lists
# them, ids, emails, prices and US addresses (a carrier reads them as the store keeps them).
KEPT_AS_DATA = [re.compile(p) for p in (
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", r"#?\bW\d{7}\b", r"\(.*?\)", r"（.*?）", r"US\$[\d,.]+|\$[\d,.]+",
    r"\d+ [A-Z][\w .,'-]*?\b[A-Z]{2},? \d{5}\b")]
ENGLISH_RUN = re.compile(r"[A-Za-z][\w'’-]*(?:[ ,]+[A-Za-z][\w'’-]*){3,}")


def english_runs(reply: str, products: tuple[str, ...] = ()) -> list[str]:
    """Runs of four or more English words in a reply, once its data (products, options, ids, ...) is taken out."""
    for pattern in KEPT_AS_DATA:
        reply = pattern.sub(" ", reply)
    for name in sorted(products, key=len, reverse=True):
        reply = reply.replace(name, " ")
    return ENGLISH_RUN.findall(reply)


def not_in_chinese(reply: str, products: tuple[str, ...] = ()) -> list[str]:
    """Why a reply to the Chinese-speaking customer is not in Chinese: no Chinese in it, or its English runs."""
    return ([] if has_chinese(reply) else ["no Chinese"]) + english_runs(reply, products)

"""The tasks suite's Chinese mode: the translated tuning tasks, the Chinese-speaking scripted customer end to end,
and every agent reply to it scanned for Chinese."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from evals.base import EvalConfig
from evals.registry import load_evaluator
from evals.suites.tasks import TasksEvaluator
from evals.tasks.chinese import ChineseWording, english_runs, has_chinese, not_in_chinese, translated_task_ids
from evals.tasks.customer import AgentMove, ScriptedCustomer, agent_move
from evals.tasks.loader import Scenario, load_tasks
from evals.tasks.runner import StoreTemplate, expected_state, product_names, run_task
from evals.tasks.split import load_split

SCENARIO = Scenario(reason_for_call="You want to cancel all pending orders. If asked for reason, say you ordered "
                    "the items by mistake.",
                    known_info="You are Yara Muller in zip code 85041.",
                    unknown_info="You do not remember your email address.")


def test_the_chinese_data_covers_twenty_tuning_tasks_and_no_untouched_one() -> None:
    halves = load_split()
    ids = translated_task_ids()
    assert len(ids) >= 20
    assert {halves[task_id] for task_id in ids} == {"tuning"}
    for task_id in ids:  # every sentence is Chinese, with the ids, emails and names of the English kept
        for english, chinese in ChineseWording.for_task(task_id).sentences.items():
            assert has_chinese(chinese), (task_id, english)
            assert all(order in chinese for order in re.findall(r"#W\d{7}", english))


def test_the_customer_speaks_chinese_and_reads_the_chinese_catalogue() -> None:
    customer = ScriptedCustomer(SCENARIO, chinese=ChineseWording.for_task("113"))
    assert customer.opening() == "我想把所有待处理的订单都取消。"
    ask = "好的，我来帮您处理。请先验证一下身份：请告诉我账户的邮箱地址，或者您的名字、姓氏和邮编。"
    assert agent_move(ask) is AgentMove.IDENTITY
    assert customer.reply(ask) == "不好意思，我不记得我的邮箱了。我叫 Yara Muller，邮编是 85041。"
    reason = "请问您取消订单 #W5056519 的原因是什么：不再需要了，还是下错单了？"
    assert customer.reply(reason) == "这些东西是我下错单了。"
    assert customer.reply("请确认：取消订单 #W5056519（Grill），原因：下错单。\n确认办理吗？请回复“是”或“不要”。") == \
        "好的，请办理吧。"
    assert customer.reply("已办好：订单 #W5056519 现在的状态是已取消。") == "没有别的了，谢谢。"
    assert customer.finished and customer.chinese.untranslated == []


def test_a_sentence_missing_from_the_data_is_said_in_english_and_counted() -> None:
    wording = ChineseWording.for_task("113")
    assert wording.say("Yes, please go ahead. I want a refund to my moon wallet.") == \
        "好的，请办理吧。I want a refund to my moon wallet."
    assert wording.untranslated == ["I want a refund to my moon wallet."]


def test_the_reply_scan_keeps_data_and_flags_english_sentences() -> None:
    products = ("Desk Lamp",)
    chinese = ("请确认：退回订单 #W1234567 中的 Desk Lamp（color：black，power source：AC adapter）。"
               "发往 a.b@example.com。")
    assert not_in_chinese(chinese, products) == []
    assert not_in_chinese("To confirm: return the Desk Lamp from order #W1234567.", products)
    assert english_runs("订单状态：pending。Which item do you mean here?") == ["Which item do you mean here"]


def test_the_suite_in_chinese_on_a_few_translated_tasks(tmp_path: Path, home: Path, data_dir: Path) -> None:
    config = EvalConfig(data_dir=data_dir, backend="none", options={"language": "zh", "ids": "113,81,2,54"})
    result = load_evaluator("tasks", config).run(tmp_path / "out").result
    chinese = result.details["chinese"]
    assert list(chinese["per_task"]) == ["113", "81", "2"]  # 54 is untouched: never translated, never run
    assert chinese["untranslated"] == [] and chinese["not_in_chinese"] == []
    metrics = {name: m.value for name, m in result.metrics.items()}
    assert metrics["pass_rate"] == metrics["pass_rate_zh"]
    assert metrics["pass_rate_en_same_tasks"] == pytest.approx(
        sum(both["en"] for both in chinese["per_task"].values()) / 3)
    report = (tmp_path / "out" / "tasks" / "report.md").read_text()
    assert "**Chinese-speaking customer** (3 tasks" in report
    failures = (tmp_path / "out" / "tasks" / "failures.md")
    customer_lines = [line for line in (failures.read_text() if failures.exists() else "").splitlines()
                      if line.startswith("**customer:**")]
    assert all(has_chinese(line) for line in customer_lines)


def test_every_agent_reply_to_the_chinese_customer_is_in_chinese(home: Path, data_dir: Path) -> None:
    halves_ids = set(translated_task_ids())
    tasks = [task for task in load_tasks(data_dir / "tau2-retail" / "tasks.json") if task.id in halves_ids]
    offending, said = [], []
    with tempfile.TemporaryDirectory() as work:
        template = StoreTemplate(Path(work) / "template.db", data_dir / "tau2-retail" / "db.json")
        retriever = TasksEvaluator._retriever(template)
        store = template.fresh(Path(work) / "names.db")
        products = product_names(store)
        store.dispose()
        for task in tasks:
            run = run_task(task, template=template, expected=expected_state(template, task, Path(work)),
                           work_dir=Path(work), model=None, retriever=retriever, language="zh")
            said += [text for speaker, text in run.transcript if speaker == "customer"]
            offending += [(task.id, text) for speaker, text in run.transcript[1:]
                          if speaker == "agent" and not_in_chinese(text, products)]
    assert len(tasks) == len(halves_ids) and all(has_chinese(text) for text in said)
    assert offending == []

"""End-to-end customer-service tasks: the agent against tau2 retail tasks with a scripted customer."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from evals.base import EvalResult, Evaluator, Metric

QUICK_TASKS = 3


class TasksEvaluator(Evaluator):
    """Options: `tasks` (a tau2-format task file; default DATA/tau2-retail/tasks.json), `ids` (comma-separated task
    ids), `limit` (first N tasks), `half` (tuning | untouched: one half of the committed split), `seeds` (runs per
    task, default 1), `temperature` (default 0 = greedy; 0.7 when seeds > 1), `paraphrase` (K runs per task, each
    with another seeded wording of the customer; default 1 = its plain wording), `max_turns` (customer messages per
    task, default 20), `language` (en, or zh: the customer speaks Chinese, on the tasks translated in
    `evals/data/tasks_zh/` only, and each also runs in English for comparison). Figures are reported for all tasks
    and for each half of the split."""

    name = "tasks"
    title = "End-to-end customer-service tasks (tau2 retail, scripted customer)"
    requires = ("tau2-retail/tasks.json",)

    @property
    def tasks_file(self) -> Path:
        option = self.config.options.get("tasks")
        return Path(option) if option else self.data_dir / "tau2-retail" / "tasks.json"

    def missing_data(self) -> list[str]:
        return [] if self.tasks_file.is_file() else [str(self.tasks_file)]

    def evaluate(self, out_dir: Path) -> EvalResult:
        from tqdm import tqdm

        from evals.plots import grouped_bars, histogram
        from evals.tasks.loader import load_tasks
        from evals.tasks.paraphrase import Phrasing
        from evals.tasks.runner import SampledModel, StoreTemplate, expected_state, run_task
        from evals.tasks.scoring import (
            by_half,
            headline,
            pass_rate_by_wording,
            summary,
            task_table,
            write_failures,
        )
        from evals.tasks.split import load_split

        options = self.config.options
        halves = load_split()
        tasks = self._select(load_tasks(self.tasks_file), halves)
        seeds = int(options.get("seeds", 1))
        paraphrases = int(options.get("paraphrase", 1))
        if paraphrases < 1:
            raise ValueError("suite tasks: paraphrase=K wants K >= 1")
        language = options.get("language", "en")
        if language not in ("en", "zh") or (language == "zh" and paraphrases > 1):
            raise ValueError("suite tasks: language is en or zh (zh with the plain wording only)")
        english: list[Any] = []  # language=zh: the same tasks with the English customer, for comparison
        temperature = float(options.get("temperature", 0.7 if seeds > 1 else 0.0))
        max_turns = int(options.get("max_turns", 20))
        model, retriever = self._model(), None
        runs = []
        with tempfile.TemporaryDirectory(prefix="shopagent-tasks-") as work:
            work_dir = Path(work)
            template = StoreTemplate(work_dir / "template.db", self._store_source())
            retriever = self._retriever(template)
            if language == "zh":
                tasks = self._translated(tasks)
            progress = tqdm(total=len(tasks) * seeds * paraphrases, desc="tasks", unit="run")
            for task in tasks:
                expected = expected_state(template, task, work_dir)
                for seed in range(self.config.seed, self.config.seed + seeds):
                    chat_model = SampledModel(model, temperature, seed) if model and temperature > 0 else model
                    for index in range(paraphrases):
                        run = run_task(task, template=template, expected=expected, work_dir=work_dir,
                                       model=chat_model, retriever=retriever, seed=seed, max_turns=max_turns,
                                       phrasing=Phrasing.paraphrase(index, f"{task.id}/{seed}"),
                                       language=language)
                        runs.append(run)
                        if language == "zh":
                            english.append(run_task(task, template=template, expected=expected,
                                                    work_dir=work_dir, model=chat_model, retriever=retriever,
                                                    seed=seed, max_turns=max_turns))
                        progress.update()
                        progress.set_postfix(passed=f"{sum(r.passed for r in runs)}/{len(runs)}")
            progress.close()
            chinese = self._chinese_figures(runs, english, template) if language == "zh" else {}
        figures = summary(runs)
        failed = write_failures(runs, out_dir / "failures.md")
        runs_per_task = seeds * paraphrases
        sides = {"all": headline(runs, runs_per_task),
                 **{half: headline(half_runs, runs_per_task) for half, half_runs in by_half(runs, halves).items()}}
        task_counts = {"all": len(tasks), **{half: sum(halves.get(t.id) == half for t in tasks)
                                             for half in sides if half != "all"}}
        shown = {"pass_rate": "pass", "db_match_rate": "DB equal", "outputs_rate": "outputs said",
                 **({} if runs_per_task == 1 else {f"pass^{k}": f"pass^{k}" for k in range(2, runs_per_task + 1)})}
        grouped_bars({f"{side} ({task_counts[side]})": {label: values[key] for key, label in shown.items()}
                      for side, values in sides.items()},
                     f"{len(tasks)} tasks, backend {self.config.backend}: all and each half", out_dir / "outcomes.png")
        histogram({"seconds per task": [r.seconds for r in runs]}, "Run time per task", "seconds",
                  out_dir / "seconds.png", bins=20)
        metrics = {
            "pass_rate": Metric(figures["pass_rate"], tolerance=0.02, description="DB equal and outputs said"),
            "db_match_rate": Metric(figures["db_match_rate"], tolerance=0.02),
            "outputs_rate": Metric(figures["outputs_rate"], tolerance=0.02),
            **self._side_metrics(sides),
            **{key: Metric(value, better="lower" if key == "untranslated_sentences" else "higher", tolerance=0.05)
               for key, value in chinese.items() if isinstance(value, float)},
            "policy_refusals_per_task": Metric(figures["policy_refusals_per_task"], better="lower", tolerance=0.1),
            "invalid_calls_per_task": Metric(figures["invalid_calls_per_task"], better="lower", tolerance=0.05),
            "failed_calls_per_task": Metric(figures["failed_calls_per_task"], better="lower", tolerance=0.1),
            "turns_per_task": Metric(figures["turns_per_task"], better="lower", tolerance=1.0),
            "internals_shown": Metric(sum(len(r.details.get("internals_shown", [])) for r in runs), better="lower",
                                      tolerance=0, description="tool names, JSON or ids the customer never gave"),
            "seconds_per_task": Metric(figures["seconds_per_task"], better="lower",
                                       tolerance=0.25 * figures["seconds_per_task"]),
        }
        body = self._markdown(tasks, runs, figures, seeds, temperature, failed, task_table(runs))
        wordings = pass_rate_by_wording(runs)
        body = self._halves_markdown(sides, task_counts, wordings) + "\n\n" + body
        if chinese:
            body = self._chinese_markdown(chinese) + "\n\n" + body
        details = {"tasks_file": str(self.tasks_file), "tasks": len(tasks), "seeds": seeds,
                   "paraphrases": paraphrases, "temperature": temperature, "summary": figures, "halves": sides,
                   "pass_rate_by_wording": wordings, "language": language, "chinese": chinese,
                   "runs": [{"task": r.task_id, "half": halves.get(r.task_id), "seed": r.seed,
                             "paraphrase": r.paraphrase, "passed": r.passed, "db_match": r.db_match,
                             "outputs_missing": r.outputs_missing, "turns": r.turns, "seconds": round(r.seconds, 2),
                             "ended_by": r.ended_by, "differences": r.differences[:5],
                             "internals_shown": r.details.get("internals_shown", [])[:5]} for r in runs]}
        return EvalResult(metrics=metrics, markdown=body, plots=["outcomes.png", "seconds.png"], details=details)

    # --- set-up --------------------------------------------------------------------------------------------------

    def _select(self, tasks: list[Any], halves: dict[str, str]) -> list[Any]:
        options = self.config.options
        half = options.get("half")
        if half:
            known = sorted(set(halves.values()))
            if half not in known:
                raise FileNotFoundError(f"suite tasks: no half {half!r} in the split; it has {', '.join(known)}")
            tasks = [task for task in tasks if halves.get(task.id) == half]
        if options.get("ids"):
            wanted = [i.strip() for i in options["ids"].split(",") if i.strip()]
            by_id = {task.id: task for task in tasks}
            unknown = [i for i in wanted if i not in by_id]
            if unknown:
                raise FileNotFoundError(f"suite tasks: no task with id {', '.join(unknown)} in {self.tasks_file}")
            tasks = [by_id[i] for i in wanted]
        limit = QUICK_TASKS if self.config.quick else int(options.get("limit", 0))
        return tasks[:limit] if limit else tasks

    @staticmethod
    def _translated(tasks: list[Any]) -> list[Any]:
        from evals.tasks.chinese import translated_task_ids

        ids = set(translated_task_ids())
        return [task for task in tasks if task.id in ids]

    @staticmethod
    def _chinese_figures(runs: list[Any], english: list[Any], template: Any) -> dict[str, Any]:
        """The Chinese runs against the same tasks in English, and every agent reply to them scanned for Chinese."""
        from evals.tasks.chinese import not_in_chinese
        from evals.tasks.runner import product_names
        from tools.store import Store, sqlite_url

        store = Store(sqlite_url(template.path))
        try:
            products = product_names(store)
        finally:
            store.dispose()
        replies = [(run.task_id, text) for run in runs for speaker, text in run.transcript[1:] if speaker == "agent"]
        offending = [{"task": task_id, "reply": text, "why": why} for task_id, text in replies
                     if (why := not_in_chinese(text, products))]
        count = max(len(runs), 1)
        return {"pass_rate_zh": sum(r.passed for r in runs) / count,
                "pass_rate_en_same_tasks": sum(r.passed for r in english) / max(len(english), 1),
                "replies_in_chinese_rate": 1 - len(offending) / max(len(replies), 1),
                "untranslated_sentences": float(sum(len(r.untranslated) for r in runs)),
                "replies": len(replies), "not_in_chinese": offending,
                "untranslated": sorted({s for r in runs for s in r.untranslated}),
                "per_task": {r.task_id: {"zh": r.passed, "en": e.passed} for r, e in zip(runs, english, strict=True)}}

    @staticmethod
    def _chinese_markdown(chinese: dict[str, Any]) -> str:
        lost = [task for task, both in chinese["per_task"].items() if both["en"] and not both["zh"]]
        gained = [task for task, both in chinese["per_task"].items() if both["zh"] and not both["en"]]
        return "\n".join([
            f"**Chinese-speaking customer** ({len(chinese['per_task'])} tasks translated in `evals/data/tasks_zh/`): "
            f"pass rate **{chinese['pass_rate_zh']:.1%}** in Chinese vs {chinese['pass_rate_en_same_tasks']:.1%} "
            f"for the same tasks in English; passing in English only: {', '.join(lost) or 'none'}; in Chinese "
            f"only: {', '.join(gained) or 'none'}.",
            f"- agent replies in Chinese: {chinese['replies_in_chinese_rate']:.1%} of {chinese['replies']} "
            f"(Chinese in it, no run of 4+ English words outside product names, options, ids, emails, addresses)",
            f"- customer sentences with no Chinese in the data (said in English): "
            f"{int(chinese['untranslated_sentences'])}" + "".join(f"\n  - {s}" for s in chinese["untranslated"]),
            *[f"- not in Chinese (task {o['task']}): {o['reply'][:200]!r}" for o in chinese["not_in_chinese"][:10]],
        ])

    def _store_source(self) -> Path | None:
        """The data folder's store (tasks refer to its orders and customers); else the bundled demo store."""
        path = self.data_dir / "tau2-retail" / "db.json"
        return path if path.is_file() else None

    def _model(self) -> Any:
        if self.config.backend == "none":
            return None
        from agent.llm.registry import load_chat_model
        from server.config import get_settings

        adapter = None if self.config.adapter in (None, "", "none") else self.config.adapter
        return load_chat_model(backend=self.config.backend, model=self.config.model, adapter=adapter,
                               cache_dir=get_settings().cache_dir / "models", threads=self.config.threads)

    @staticmethod
    def _retriever(template: Any) -> Any:
        """The demo catalogue's search index, cached across runs (rebuilt when the catalogue changes)."""
        from retrieval import HybridRetriever, RetrieverConfig
        from server.config import get_settings
        from tools.retail.catalog import store_documents
        from tools.store import Store, sqlite_url

        store = Store(sqlite_url(template.path))
        try:
            with store.session() as session:
                documents = store_documents(session)
        finally:
            store.dispose()
        cache = get_settings().cache_dir
        config = RetrieverConfig(encoder_cache_dir=cache / "onnx")
        return HybridRetriever.open(documents, cache / "tasks-index", config)

    @staticmethod
    def _side_metrics(sides: dict[str, dict[str, float]]) -> dict[str, Metric]:
        """pass^k (k >= 2) over all tasks, and each headline figure of each half, named `<figure>_<half>`."""
        overall = {key: Metric(value, tolerance=0.02) for key, value in sides["all"].items()
                   if key.startswith("pass^") and key != "pass^1"}
        halves = {f"{key}_{half}": Metric(value, tolerance=0.03, description=f"on the {half} half of the split")
                  for half, values in sides.items() if half != "all"
                  for key, value in values.items() if key != "pass^1"}
        return {**overall, **halves}

    @staticmethod
    def _halves_markdown(sides: dict[str, dict[str, float]], task_counts: dict[str, int],
                         wordings: dict[int, float]) -> str:
        """The headline figures side by side: all tasks, the tuning half, the untouched half."""
        keys = list(sides["all"])
        wording = "the customer's plain wording" if len(wordings) == 1 else (
            f"{len(wordings)} wordings of the customer per task, plain + {len(wordings) - 1} seeded paraphrases; "
            "pass rate by wording: " + ", ".join(f"{'plain' if i == 0 else i} {rate:.1%}"
                                                 for i, rate in wordings.items()))
        lines = ["The agent is tuned on the *tuning* half of the split (`evals/tasks/split.json`) only; the "
                 f"*untouched* half judges it ({wording}).", "",
                 "| tasks | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        for side, values in sides.items():
            lines.append(f"| {side} ({task_counts[side]}) | " + " | ".join(f"{values[k]:.1%}" for k in keys) + " |")
        return "\n".join(lines)

    def _markdown(self, tasks: list[Any], runs: list[Any], figures: dict[str, float], seeds: int,
                  temperature: float, failed: int, table: str) -> str:
        cfg = self.config
        model = "none (flows only)" if cfg.backend == "none" else f"{cfg.backend} / {cfg.model}" + (
            f" + adapter {cfg.adapter}" if cfg.adapter not in (None, "", "none") else "")
        decoding = "greedy decoding" if temperature == 0 else f"sampling at temperature {temperature}"
        return "\n".join([
            f"**{figures['pass_rate']:.1%}** of {len(runs)} runs passed ({len(tasks)} tasks from "
            f"`{self.tasks_file.name}` × {seeds} seed(s) × {len(runs) // max(len(tasks) * seeds, 1)} wording(s) of the "
            f"customer, {decoding}); model: {model}.",
            "",
            "Each task runs the real agent against a fresh copy of the demo store, with a deterministic scripted "
            "customer that speaks only from the task's user scenario (`evals/tasks/customer.py`). A run passes, as "
            "tau2's DB reward does, when the final database equals the one left by replaying the task's "
            "ground-truth actions on a fresh store (audit log, chat tables, timestamps and version counters "
            "ignored), and every required output (`communicate_info`) appears in the agent's messages.",
            "",
            f"- DB equal: {figures['db_match_rate']:.1%}; required outputs said: {figures['outputs_rate']:.1%}",
            f"- per task: {figures['turns_per_task']:.1f} customer turns, {figures['seconds_per_task']:.1f} s "
            f"(median {figures['seconds_per_task_median']:.1f} s)",
            f"- tool calls per task refused by policy: {figures['policy_refusals_per_task']:.2f}; invalid: "
            f"{figures['invalid_calls_per_task']:.2f}; failed: {figures['failed_calls_per_task']:.2f}; agent "
            f"errors: {int(figures['agent_errors'])}",
            f"- {failed} failed run(s), each with why and its transcript: [failures.md](failures.md)",
            "",
            "<details><summary>Every run</summary>",
            "",
            table,
            "",
            "</details>",
        ])


EVALUATOR = TasksEvaluator

"""End-to-end customer-service tasks: the agent against tau2 retail tasks with a scripted customer."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from evals.base import EvalResult, Evaluator, Metric

QUICK_TASKS = 3


class TasksEvaluator(Evaluator):
    """Options: `tasks` (a tau2-format task file; default DATA/tau2-retail/tasks.json), `ids` (comma-separated task
    ids), `limit` (first N tasks), `seeds` (runs per task, default 1), `temperature` (default 0 = greedy; 0.7 when
    seeds > 1), `max_turns` (customer messages per task, default 20)."""

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

        from evals.plots import bar_chart, histogram
        from evals.tasks.loader import load_tasks
        from evals.tasks.runner import SampledModel, StoreTemplate, expected_state, run_task
        from evals.tasks.scoring import pass_hat_k, summary, task_table, write_failures

        options = self.config.options
        tasks = self._select(load_tasks(self.tasks_file))
        seeds = int(options.get("seeds", 1))
        temperature = float(options.get("temperature", 0.7 if seeds > 1 else 0.0))
        max_turns = int(options.get("max_turns", 20))
        model, retriever = self._model(), None
        runs = []
        with tempfile.TemporaryDirectory(prefix="shopagent-tasks-") as work:
            work_dir = Path(work)
            template = StoreTemplate(work_dir / "template.db", self._store_source())
            retriever = self._retriever(template)
            progress = tqdm(total=len(tasks) * seeds, desc="tasks", unit="run")
            for task in tasks:
                expected = expected_state(template, task, work_dir)
                for seed in range(self.config.seed, self.config.seed + seeds):
                    chat_model = SampledModel(model, temperature, seed) if model and temperature > 0 else model
                    run = run_task(task, template=template, expected=expected, work_dir=work_dir, model=chat_model,
                                   retriever=retriever, seed=seed, max_turns=max_turns)
                    runs.append(run)
                    progress.update()
                    progress.set_postfix(passed=f"{sum(r.passed for r in runs)}/{len(runs)}")
            progress.close()
        figures = summary(runs)
        failed = write_failures(runs, out_dir / "failures.md")
        pass_k = {f"pass^{k}": pass_hat_k(runs, k) for k in range(1, seeds + 1)}
        bar_chart({"pass": figures["pass_rate"], "DB equal": figures["db_match_rate"],
                   "outputs said": figures["outputs_rate"], **({} if seeds == 1 else pass_k)},
                  f"{len(tasks)} tasks, backend {self.config.backend}", out_dir / "outcomes.png", ylabel="rate")
        histogram({"seconds per task": [r.seconds for r in runs]}, "Run time per task", "seconds",
                  out_dir / "seconds.png", bins=20)
        metrics = {
            "pass_rate": Metric(figures["pass_rate"], tolerance=0.02, description="DB equal and outputs said"),
            "db_match_rate": Metric(figures["db_match_rate"], tolerance=0.02),
            "outputs_rate": Metric(figures["outputs_rate"], tolerance=0.02),
            **{k: Metric(v, tolerance=0.02) for k, v in pass_k.items() if k != "pass^1"},
            "policy_refusals_per_task": Metric(figures["policy_refusals_per_task"], better="lower", tolerance=0.1),
            "invalid_calls_per_task": Metric(figures["invalid_calls_per_task"], better="lower", tolerance=0.05),
            "failed_calls_per_task": Metric(figures["failed_calls_per_task"], better="lower", tolerance=0.1),
            "turns_per_task": Metric(figures["turns_per_task"], better="lower", tolerance=1.0),
            "seconds_per_task": Metric(figures["seconds_per_task"], better="lower",
                                       tolerance=0.25 * figures["seconds_per_task"]),
        }
        body = self._markdown(tasks, runs, figures, seeds, temperature, failed, task_table(runs))
        details = {"tasks_file": str(self.tasks_file), "tasks": len(tasks), "seeds": seeds,
                   "temperature": temperature, "summary": figures,
                   "runs": [{"task": r.task_id, "seed": r.seed, "passed": r.passed, "db_match": r.db_match,
                             "outputs_missing": r.outputs_missing, "turns": r.turns, "seconds": round(r.seconds, 2),
                             "ended_by": r.ended_by, "differences": r.differences[:5]} for r in runs]}
        return EvalResult(metrics=metrics, markdown=body, plots=["outcomes.png", "seconds.png"], details=details)

    # --- set-up --------------------------------------------------------------------------------------------------

    def _select(self, tasks: list[Any]) -> list[Any]:
        options = self.config.options
        if options.get("ids"):
            wanted = [i.strip() for i in options["ids"].split(",") if i.strip()]
            by_id = {task.id: task for task in tasks}
            unknown = [i for i in wanted if i not in by_id]
            if unknown:
                raise FileNotFoundError(f"suite tasks: no task with id {', '.join(unknown)} in {self.tasks_file}")
            tasks = [by_id[i] for i in wanted]
        limit = QUICK_TASKS if self.config.quick else int(options.get("limit", 0))
        return tasks[:limit] if limit else tasks

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

    def _markdown(self, tasks: list[Any], runs: list[Any], figures: dict[str, float], seeds: int,
                  temperature: float, failed: int, table: str) -> str:
        cfg = self.config
        model = "none (flows only)" if cfg.backend == "none" else f"{cfg.backend} / {cfg.model}" + (
            f" + adapter {cfg.adapter}" if cfg.adapter not in (None, "", "none") else "")
        decoding = "greedy decoding" if temperature == 0 else f"sampling at temperature {temperature}"
        return "\n".join([
            f"**{figures['pass_rate']:.1%}** of {len(runs)} runs passed ({len(tasks)} tasks from "
            f"`{self.tasks_file.name}` × {seeds} seed(s), {decoding}); model: {model}.",
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

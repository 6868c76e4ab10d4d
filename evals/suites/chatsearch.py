"""Chat search: product searches typed into the chat against the same words through `shopagent search`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from evals.base import EvalResult, Evaluator, Metric

QUICK_QUERIES = 6
# English: tuned on the first, judged on both. Chinese: written before cross-lingual search existed, never tuned on.
QUERY_FILES = {"en": "en.jsonl", "heldout": "en_heldout.jsonl", "zh": "zh.jsonl"}
ENGLISH = ("en", "heldout")
COUNTS = ("no_card", "identity_asked", "not_understood", "raw_errors", "false_no_match", "suggestions_in_cards")


class ChatSearchEvaluator(Evaluator):
    """Options: `model` = none (default: the flows alone) | configured (the --backend/--model/--adapter model),
    `queries` = a folder with en.jsonl, en_heldout.jsonl and zh.jsonl (default evals/data/chat_search), `limit` = N."""

    name = "chatsearch"
    title = "Chat search: the chat against `shopagent search` on shoppers' queries"
    requires = ()  # DATA/tau2-retail/db.json when there is one (the gold ids are its items), else the demo store

    def evaluate(self, out_dir: Path) -> EvalResult:
        from agent.manager import Agent
        from agent.proactive import ProactiveEngine
        from evals import chat_search_benchmark as bench
        from evals.plots import grouped_bars
        from evals.suites.tasks import TasksEvaluator
        from evals.tasks.runner import StoreTemplate

        options = self.config.options
        folder = Path(options.get("queries", bench.QUERY_DIR))
        limit = QUICK_QUERIES if self.config.quick else int(options.get("limit", 0))
        model = self._model()
        figures: dict[str, dict[str, float]] = {}
        runs: dict[str, list[bench.QueryRun]] = {}
        with tempfile.TemporaryDirectory(prefix="shopagent-chatsearch-") as work:
            store_file = self.data_dir / "tau2-retail" / "db.json"
            template = StoreTemplate(Path(work) / "template.db", store_file if store_file.is_file() else None)
            retriever = TasksEvaluator._retriever(template)
            for label, file_name in QUERY_FILES.items():
                if label not in ENGLISH and not (folder / file_name).is_file():
                    continue  # a query folder of English files only
                store = template.fresh(Path(work) / f"{label}.db")
                try:  # the server's agent: suggestions on, so that none may slip among the result cards
                    agent = Agent(store, model=model, retriever=retriever, proactive=ProactiveEngine())
                    runs[label] = bench.run_file(agent, retriever, bench.load_queries(folder / file_name, limit))
                finally:
                    store.dispose()
                figures[label] = bench.summary(runs[label])
        grouped_bars({path: {label: figures[label][f"{path}_hit@3"] for label in figures} for path in ("chat", "cli")},
                     "hit@3: chat vs shopagent search", out_dir / "hit_at_3.png")
        return EvalResult(metrics=self._metrics(figures), markdown=self._markdown(figures, runs),
                          plots=["hit_at_3.png"],
                          details={"model": self._model_label(), "summary": figures,
                                   "runs": {label: bench.as_details(r) for label, r in runs.items()}})

    @staticmethod
    def _metrics(figures: dict[str, dict[str, float]]) -> dict[str, Metric]:
        tuned, heldout = figures["en"], figures["heldout"]
        both = [figures[label] for label in ENGLISH]
        metrics = {
            "chat_hit@3": Metric(tuned["chat_hit@3"], tolerance=0.02, description="en.jsonl"),
            "cli_hit@3": Metric(tuned["cli_hit@3"], tolerance=0.02, description="en.jsonl"),
            "heldout_chat_hit@3": Metric(heldout["chat_hit@3"], tolerance=0.05, description="en_heldout.jsonl"),
            "heldout_cli_hit@3": Metric(heldout["cli_hit@3"], tolerance=0.05, description="en_heldout.jsonl"),
            "chat_minus_cli_hit@3": Metric(tuned["chat_minus_cli_hit@3"], tolerance=0.02),
            "no_match_honest": Metric(_honest(both), tolerance=0.0, description="both English files"),
            **{name: Metric(sum(f[name] for f in both), better="lower", description="both English files")
               for name in COUNTS},
        }
        if "zh" in figures:  # Chinese apart, so that English figures stay comparable with earlier runs
            zh = figures["zh"]
            metrics |= {
                "zh_chat_hit@3": Metric(zh["chat_hit@3"], tolerance=0.05, description="zh.jsonl"),
                "zh_cli_hit@3": Metric(zh["cli_hit@3"], tolerance=0.05, description="zh.jsonl"),
                "zh_no_match_honest": Metric(_honest([zh]), tolerance=0.0, description="zh.jsonl"),
                **{f"zh_{name}": Metric(zh[name], better="lower", description="zh.jsonl") for name in COUNTS},
            }
        return metrics

    def _markdown(self, figures: dict[str, dict[str, float]], runs: dict[str, list[Any]]) -> str:
        from evals import chat_search_benchmark as bench

        intro = (f"Each query is typed into a new chat (an unverified customer, a fresh demo store; model: "
                 f"{self._model_label()}) and, all its turns' words at once, into the retriever that `shopagent "
                 f"search` runs. hit@3: a satisfying item (from the catalogue's options and prices, "
                 f"`evals/chat_search_gold.py`) among the first three cards. For a query that nothing meets "
                 f"entirely, the satisfying items are the closest ones, and the reply must say so. `en.jsonl` is the "
                 f"set the chat was tuned on; `en_heldout.jsonl` was written first and not looked at while "
                 f"tuning. `zh.jsonl`: Chinese shoppers' queries on the same English catalogue, written before "
                 f"cross-lingual search was built.")
        parts = [intro, ""] + [bench.markdown(QUERY_FILES[label], figures[label], runs[label]) for label in runs]
        return "\n".join(parts)

    def _model(self) -> Any:
        if self.config.options.get("model", "none") == "none":
            return None
        from agent.llm.registry import load_chat_model
        from server.config import get_settings

        adapter = None if self.config.adapter in (None, "", "none") else self.config.adapter
        return load_chat_model(backend=self.config.backend, model=self.config.model, adapter=adapter,
                               cache_dir=get_settings().cache_dir / "models", threads=self.config.threads)

    def _model_label(self) -> str:
        if self.config.options.get("model", "none") == "none":
            return "none (flows only)"
        return f"{self.config.backend} / {self.config.model}"


def _honest(files: list[dict[str, float]]) -> float:
    return sum(f["no_match_honest"] for f in files) / max(sum(f["no_match_queries"] for f in files), 1)


EVALUATOR = ChatSearchEvaluator

"""Product search: nDCG@10 and Recall@100 on the Home Depot relevance judgements, and search latency."""

from __future__ import annotations

import hashlib
from pathlib import Path

from evals.base import EvalResult, Evaluator, Metric
from evals.plots import bar_chart


class RetrievalEvaluator(Evaluator):
    name = "retrieval"
    title = "Product search: Home Depot search relevance"
    requires = ("homedepot/products.csv", "homedepot/relevance.csv")

    def evaluate(self, out_dir: Path) -> EvalResult:
        from evals import retrieval_benchmark
        from server.config import get_settings

        products = self.data_dir / "homedepot" / "products.csv"
        key = hashlib.sha1(f"{products.resolve()}:{products.stat().st_size}".encode()).hexdigest()[:12]
        cache_dir = get_settings().home / "cache" / "retrieval" / key  # the index is reused across runs
        quick = self.config.quick
        report = retrieval_benchmark.run(self.data_dir, out_dir, cache_dir=cache_dir,
                                         latency_queries=50 if quick else 2000, fuzzy_sample=0 if quick else 1000,
                                         seed=self.config.seed)
        methods = {name: figs["all"] for name, figs in report["metrics"].items() if "all" in figs}
        bar_chart({m: f["ndcg@10"] for m, f in methods.items()}, "nDCG@10 by method (all judged queries)",
                  out_dir / "ndcg.png")
        hybrid, latency = methods["hybrid"], report["latency_hybrid_search"]
        return EvalResult(
            metrics={
                "hybrid_ndcg@10": Metric(hybrid["ndcg@10"], tolerance=0.002),
                "hybrid_recall@100": Metric(hybrid["recall@100"], tolerance=0.002),
                "bm25_ndcg@10": Metric(methods["bm25"]["ndcg@10"], tolerance=0.002),
                "dense_ndcg@10": Metric(methods["dense"]["ndcg@10"], tolerance=0.002),
                "search_p95_ms": Metric(latency["p95_ms"], better="lower", tolerance=latency["p95_ms"] * 0.25),
            },
            markdown=retrieval_benchmark.markdown(report).split("\n", 1)[1],  # its own title is ours
            plots=["ndcg.png"],
            details={"catalogue_size": report["catalogue_size"], "judged_queries": report["judged_queries"]},
        )


EVALUATOR = RetrievalEvaluator

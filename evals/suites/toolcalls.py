"""Tool calls of the agent's model, base vs fine-tuned, on the generated dev set and the Bitext routing set."""

from __future__ import annotations

import json
import random
from pathlib import Path

from evals.base import EvalResult, Evaluator, Metric
from evals.plots import grouped_bars


class ToolCallsEvaluator(Evaluator):
    """Options: `dev_conversations` (default 60), `routing_limit` (default 300 sampled utterances),
    `routing_file` (another file in the Bitext format, e.g. held-out utterances), `models` (default base,tuned)."""

    name = "toolcalls"
    title = "Tool calls: base vs fine-tuned model"
    requires = ("support/bitext_customer_support.csv",)

    def evaluate(self, out_dir: Path) -> EvalResult:
        from agent.llm.registry import load_chat_model
        from finetune.bitext import bitext_examples
        from finetune.data import generate
        from finetune.scoring import score

        options, quick, seed = self.config.options, self.config.quick, self.config.seed
        dev = [json.loads(e.to_json()) for e in generate("dev", 6 if quick else int(options.get(
            "dev_conversations", 60)), seed)]
        routing_file = Path(options["routing_file"]) if options.get("routing_file") else None
        routing = [json.loads(e.to_json()) for e in bitext_examples(self.data_dir, "dev", seed, routing_file)]
        limit = 12 if quick else int(options.get("routing_limit", 300))
        routing = random.Random(seed).sample(routing, min(limit, len(routing)))
        figures, failures = {}, {}
        for label in options.get("models", "base,tuned").split(","):
            adapter = "none" if label == "base" else (self.config.adapter or "default")
            model = load_chat_model(self.config.backend, self.config.model, adapter=adapter,
                                    threads=self.config.threads)
            tuned = bool(getattr(model, "tool_tuned", False))
            on_dev = score(model, dev, tuned, f"{label} dev")
            on_routing = score(model, routing, tuned, f"{label} routing", routing_only=True)
            figures[label] = {**on_dev.rates(), "routing_accuracy": on_routing.rates()["tool_accuracy"],
                              "routing_violations": on_routing.violations, "model": getattr(model, "name", label)}
            failures[label] = {"dev": on_dev.failures[:40], "routing": on_routing.failures[:40]}
            del model
        (out_dir / "failures.json").write_text(json.dumps(failures, indent=2, ensure_ascii=False))
        shown = ("tool_accuracy", "exact_match", "well_formed", "grounded_arguments", "routing_accuracy")
        grouped_bars({k: {m: figures[k][m] for m in shown} for k in figures}, "Tool calls: base vs fine-tuned",
                     out_dir / "toolcalls.png")
        metrics = {}
        for label, f in figures.items():
            for key in shown:
                metrics[f"{label}_{key}"] = Metric(f[key], tolerance=0.01)
            metrics[f"{label}_policy_violations"] = Metric(f["policy_violations"], better="lower")
        return EvalResult(metrics=metrics, markdown=_report(figures, len(dev), len(routing), self.config.backend),
                          plots=["toolcalls.png"], details={"figures": figures})


def _report(figures: dict, n_dev: int, n_routing: int, backend: str) -> str:
    lines = [f"Dev set: {n_dev} customer messages from generated store conversations (dev templates, dev "
             f"customers); routing set: {n_routing} Bitext utterances (the half not used in training), each mapped "
             f"to the tool or flow it should start or to a person. Greedy decoding under the call grammar, backend "
             f"`{backend}`; the base model also gets the tool list in its prompt.", "",
             "| model | tool-name accuracy | exact-argument match | well-formed calls | grounded arguments | "
             "policy violations | Bitext routing accuracy |", "|---|---|---|---|---|---|---|"]
    for label, f in figures.items():
        lines.append(f"| {label} (`{f['model']}`) | {f['tool_accuracy']:.1%} | {f['exact_match']:.1%} | "
                     f"{f['well_formed']:.1%} | {f['grounded_arguments']:.1%} | {int(f['policy_violations'])} | "
                     f"{f['routing_accuracy']:.1%} |")
    lines += ["", "Policy violations: calls naming an id the conversation never mentioned or another customer's "
              "user id (the tool runner refuses them in any case). Failures: `failures.json`."]
    return "\n".join(lines)


EVALUATOR = ToolCallsEvaluator

"""Escalation to a person: precision, recall and turns-to-escalation on labelled conversations run through the
real agent (flows only, or a model backend with --option backend=llama_cpp), with policy ablations replayed on
the recorded turn signals. --option conversations=PATH takes another labelled set (JSONL, see evals/data/)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from evals.base import EvalResult, Evaluator, Metric
from evals.plots import bar_chart

ABLATIONS = {
    "full policy": {},
    "no hysteresis (one message >= 0.5)": {"alpha": 1.0, "enter": 0.5, "exit": 0.5, "persist": 1},
    "sentiment only": {"use_rules": False},
    "rules only (no sentiment)": {"use_sentiment": False},
}


class EscalationEvaluator(Evaluator):
    name = "escalation"
    title = "Escalation to a person: labelled conversations"
    requires = ()

    def evaluate(self, out_dir: Path) -> EvalResult:
        from tqdm import tqdm

        from agent.escalation.policy import PolicyConfig
        from evals.escalation_conversations import (
            DEFAULT_CONVERSATIONS,
            load_conversations,
            open_agent,
            replay,
            run_conversation,
        )
        from evals.escalation_metrics import by_category, escalation_metrics
        from server.config import get_settings

        path = Path(self.config.options.get("conversations", DEFAULT_CONVERSATIONS))
        conversations = load_conversations(path)
        if self.config.quick:
            conversations = conversations[::8]
        index_dir = get_settings().home / "cache" / "escalation-eval" / "index"
        with tempfile.TemporaryDirectory() as workdir:
            agent = open_agent(Path(workdir), index_dir, model=self._model())
            runs = [run_conversation(agent, c) for c in tqdm(conversations, desc="conversations", unit="conv")]
            agent.store.dispose()
        outcomes = [run.outcome for run in runs]
        overall = escalation_metrics(outcomes)
        ablations = {name: escalation_metrics([replay(run, PolicyConfig(**changes)) for run in runs])
                     for name, changes in ABLATIONS.items()}
        chinese = escalation_metrics([o for o in outcomes if o.language == "zh"]) if any(
            o.language == "zh" for o in outcomes) else None
        bar_chart({name: figures["f1"] for name, figures in ablations.items()}, "Escalation F1 by policy variant",
                  out_dir / "ablations.png")
        metrics = {
            "precision": Metric(overall["precision"], tolerance=0.02),
            "recall": Metric(overall["recall"], tolerance=0.02),
            "f1": Metric(overall["f1"], tolerance=0.02),
            "turns_to_escalation_mean": Metric(overall["turns_to_escalation_mean"], better="lower", tolerance=0.25),
            "delay_mean_turns": Metric(overall["delay_mean"], better="lower", tolerance=0.25,
                                       description="turns after the first turn a person was warranted"),
            "false_escalations": Metric(overall["false_escalations"], better="lower"),
        }
        markdown = _markdown(path, overall, ablations, chinese, by_category(outcomes), runs,
                             self.config.options.get("backend", "none"))
        return EvalResult(metrics=metrics, markdown=markdown,
                          plots=["ablations.png"],
                          details={"overall": overall, "ablations": ablations, "chinese": chinese,
                                   "conversations": [vars(run.outcome) for run in runs]})

    def _model(self):  # type: ignore[no-untyped-def]
        backend = self.config.options.get("backend", "none")
        if backend == "none":
            return None
        from server.config import Settings
        from server.services import open_model

        return open_model(Settings(backend=backend, model=self.config.model, threads=self.config.threads))


def _markdown(path, overall, ablations, chinese, categories, runs, backend) -> str:  # type: ignore[no-untyped-def]
    lines = [f"{overall['conversations']} labelled conversations from `{path.name}`, each run turn by turn through "
             f"the real agent (backend `{backend}`) on a fresh copy of the demo store; a conversation counts as "
             "escalated when a handoff ticket was filed.", "",
             "| policy | precision | recall | F1 | turns to escalation (mean) | delay (mean) | false | missed |"
             " premature |", "|---|---|---|---|---|---|---|---|---|"]
    for name, f in ablations.items():
        lines.append(f"| {name} | {f['precision']:.3f} | {f['recall']:.3f} | {f['f1']:.3f} | "
                     f"{f['turns_to_escalation_mean']:.2f} | {f['delay_mean']:.2f} | {f['false_escalations']} | "
                     f"{f['missed']} | {f['premature']} |")
    lines += ["", "Variants other than the full policy are replayed on the turn signals recorded in the full run "
              "(after the real escalation those come from a handed-off bot).", ""]
    if chinese:
        lines += [f"Chinese conversations: precision {chinese['precision']:.3f}, recall {chinese['recall']:.3f} "
                  f"over {chinese['conversations']}.", ""]
    lines += ["| category | conversations | should escalate | escalated |", "|---|---|---|---|"]
    lines += [f"| {name} | {c['conversations']} | {c['should_escalate']} | {c['escalated']} |"
              for name, c in categories.items()]
    wrong = [r.outcome for r in runs if (r.outcome.escalated_turn is not None) != r.outcome.should_escalate]
    if wrong:
        lines += ["", "Errors: " + ", ".join(
            f"{o.conversation_id} ({f'escalated at turn {o.escalated_turn}' if o.escalated_turn else 'missed'})"
            for o in wrong)]
    return "\n".join(lines)


EVALUATOR = EscalationEvaluator

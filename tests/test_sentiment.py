"""The frustration classifier (the shipped heads), its data split, and the evaluators' metric functions on tiny
fixtures with hand-computed answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agent.escalation.datasets import bitext_examples, is_test, split
from agent.escalation.policy import PolicyConfig
from agent.escalation.sentiment import MODEL_DIR, LinearHead, SentimentScorer, language_of
from agent.escalation.signals import TurnSignals
from evals.base import EvalConfig
from evals.escalation_conversations import DEFAULT_CONVERSATIONS, Run, load_conversations, replay
from evals.escalation_metrics import ConversationOutcome, binary_metrics, escalation_metrics

FIXTURE_DATA = Path(__file__).parent / "fixtures" / "data"


@pytest.fixture(scope="module")
def scorer(encoder) -> SentimentScorer:  # type: ignore[no-untyped-def]
    return SentimentScorer(encoder=encoder)


def test_language_by_script() -> None:
    assert language_of("where is my order?") == "en"
    assert language_of("我的订单在哪里？") == "zh"
    assert language_of("order #W2378156 还没到") == "zh"
    assert language_of("1234 !!") == "en"


def test_the_shipped_model_has_its_metadata_and_small_files() -> None:
    metadata = json.loads((MODEL_DIR / "metadata.json").read_text())
    assert metadata["english"]["labels"] == ["calm", "complaint", "human", "rude"]
    assert metadata["english"]["test"]["f1"] > 0.8 and metadata["chinese"]["test"]["accuracy"] > 0.75
    assert sum(p.stat().st_size for p in MODEL_DIR.iterdir()) < 1_000_000  # committed with the code


def test_english_scores_separate_frustration_from_calm(scorer: SentimentScorer) -> None:
    angry = scorer.score("This is the worst service I have ever had. Absolutely unacceptable!")
    calm = scorer.score("do you have running shoes in size 10?")
    person = scorer.score("can I speak with someone please")
    assert angry.language == "en" and angry.frustration > 0.8 > 0.2 > calm.frustration
    assert person.asks_for_person > 0.9 and calm.asks_for_person < 0.1


def test_chinese_scores_rank_a_complaint_above_thanks(scorer: SentimentScorer) -> None:
    complaint, thanks = scorer.score_many(["质量太差了，非常失望，再也不买了", "东西很好，谢谢"])
    assert complaint.language == thanks.language == "zh"
    assert complaint.frustration > thanks.frustration


def test_a_binary_sklearn_head_becomes_a_two_class_softmax() -> None:
    from sklearn.linear_model import LogisticRegression

    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = LogisticRegression().fit(x, ["calm", "calm", "negative", "negative"])
    head = LinearHead.from_sklearn(model, ["calm", "negative"])
    assert np.allclose(head.probabilities(x), model.predict_proba(x), atol=1e-5)


def test_the_split_is_a_property_of_the_text() -> None:
    examples = bitext_examples(FIXTURE_DATA)
    assert len(examples) == 40 and sum(e.frustrated for e in examples) >= 12
    test = split(examples, "test")
    assert {e.text for e in test} == {e.text for e in examples if is_test(e.text)}
    assert is_test("Where is my ORDER") == is_test("where is  my order")  # normalised
    assert len(split(examples, "train")) + len(test) == 40


# --- metric functions, hand-computed ------------------------------------------------------------------------


def test_binary_metrics_by_hand() -> None:
    # labels T T F F, predicted T F T F: tp 1, fp 1, fn 1 -> precision 0.5, recall 0.5, F1 0.5, accuracy 0.5
    figures = binary_metrics([True, True, False, False], [True, False, True, False])
    assert figures == {"accuracy": 0.5, "precision": 0.5, "recall": 0.5, "f1": 0.5, "examples": 4}
    assert binary_metrics([False], [False])["f1"] == 0.0


def test_escalation_metrics_by_hand() -> None:
    outcomes = [
        ConversationOutcome("a", "angry", "en", True, 2, 3),  # caught one turn late
        ConversationOutcome("b", "explicit", "en", True, 1, 1),  # caught at once
        ConversationOutcome("c", "polite_stuck", "en", True, 4, None),  # missed
        ConversationOutcome("d", "calm_long", "en", False, None, 5),  # a calm customer bounced
        ConversationOutcome("e", "calm_long", "en", False, None, None),
        ConversationOutcome("f", "angry", "en", True, 3, 2),  # escalated before it was warranted
    ]
    figures = escalation_metrics(outcomes)
    # tp 3 (a, b, f), fp 1 (d), fn 1 (c): precision 3/4, recall 3/4
    assert figures["precision"] == 0.75 and figures["recall"] == 0.75
    assert figures["turns_to_escalation_mean"] == pytest.approx((3 + 1 + 2) / 3)
    assert figures["delay_mean"] == pytest.approx((1 + 0 + 0) / 3)  # early counts as no delay ...
    assert figures["premature"] == 1  # ... and is counted here
    assert figures["false_escalations"] == 1 and figures["missed"] == 1


def test_replay_applies_another_policy_to_recorded_signals() -> None:
    outcome = ConversationOutcome("x", "calm_with_outburst", "en", False, None, None)
    run = Run(outcome, [TurnSignals(0.05), TurnSignals(0.95), TurnSignals(0.05), TurnSignals(0.05)])
    assert replay(run, PolicyConfig()).escalated_turn is None  # hysteresis: one outburst
    single = PolicyConfig(alpha=1.0, enter=0.5, exit=0.5, persist=1)
    assert replay(run, single).escalated_turn == 2  # without it, bounced at the outburst


def test_the_shipped_conversation_set_is_well_formed() -> None:
    conversations = load_conversations(DEFAULT_CONVERSATIONS)
    assert len(conversations) >= 60
    categories = {c["category"] for c in conversations}
    assert {"calm_long", "calm_with_outburst", "angry", "explicit", "risk", "polite_stuck"} <= categories
    for c in conversations:
        assert c["escalate"] == (c["escalate_from"] is not None)
        assert c["escalate_from"] is None or 1 <= c["escalate_from"] <= len(c["turns"])
    assert any(len(c["turns"]) >= 10 and not c["escalate"] for c in conversations)  # long and calm


def test_the_sentiment_suite_on_a_tiny_fixture(tmp_path: Path) -> None:
    from evals.suites.sentiment import SentimentEvaluator

    config = EvalConfig(data_dir=FIXTURE_DATA, quick=True, options={"split": "all"})
    run = SentimentEvaluator(config).run(tmp_path)
    metrics = json.loads((tmp_path / "sentiment" / "metrics.json").read_text())["metrics"]
    assert run.result.details["rows"]["English, trained (MiniLM + VADER features -> LR)"]["examples"] == 40
    assert 0.0 <= metrics["english_f1"]["value"] <= 1.0
    assert (tmp_path / "sentiment" / "precision_recall.png").stat().st_size > 0

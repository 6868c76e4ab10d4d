"""The LM reader: its act line, the grammar llama.cpp decodes under, its training data and training run, and the
act it makes with the extractors."""

from __future__ import annotations

import ctypes
import json
from pathlib import Path

import pytest

from agent.reader import DialogueAct, Move, Reason, RequestKind
from agent.reader.lm import ActLine, LmReader, grammar, prompt_text
from finetune.act_lm import ActDataConfig, ActLmConfig, act_examples, encode
from finetune.train import IGNORE

LINES = [
    ActLine(),
    ActLine((RequestKind.CANCEL,), (), Reason.ORDERED_BY_MISTAKE),
    ActLine((RequestKind.RETURN, RequestKind.CHANGE_ADDRESS, RequestKind.OUT_OF_SCOPE), (Move.NO, Move.CORRECTION)),
    ActLine((), (Move.YES,)),
]


@pytest.mark.parametrize("act", LINES)
def test_an_act_line_round_trips(act: ActLine) -> None:
    assert ActLine.parse(str(act)) == act


def test_the_act_line_is_compact_and_reads_the_same_from_its_text() -> None:
    assert str(LINES[1]) == "cancel|-|ordered_by_mistake"
    assert str(ActLine()) == "-|-|-"
    # one kind twice in a row is one request, as the classifiers read it; a repeated move is one move
    assert ActLine.parse("exchange,exchange|only,only|-") == ActLine((RequestKind.EXCHANGE,), (Move.ONLY,))


@pytest.mark.parametrize("line", ["cancel", "cancel|-", "teleport|-|-", "cancel||-", "cancel|-|-|-", "-|maybe|-",
                                  "cancel,|-|-", "-|-|because", "cancel,return,exchange,search|-|-"])
def test_a_malformed_act_line_is_refused(line: str) -> None:
    with pytest.raises(ValueError):
        ActLine.parse(line)


@pytest.fixture(scope="module")
def vocab_model():  # type: ignore[no-untyped-def]
    llama_cpp = pytest.importorskip("llama_cpp")
    from agent.llm.model_files import resolve_model

    return llama_cpp.Llama(model_path=str(resolve_model("smollm2-135m").path), vocab_only=True, verbose=False)


def admits(llm, text: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether llama.cpp's own grammar sampler lets the text through, token by token, and then lets it end."""
    import llama_cpp

    sampler = llama_cpp.llama_sampler_init_grammar(llm._model.vocab, grammar().encode(), b"root")
    assert sampler, "the grammar does not parse"
    eos = llm.token_eos()
    try:
        for token in [*llm.tokenize(text.encode(), add_bos=False, special=False), eos]:
            data = (llama_cpp.llama_token_data * 1)(llama_cpp.llama_token_data(token, 0.0, 0.0))
            candidates = llama_cpp.llama_token_data_array(data, 1, -1, False)
            llama_cpp.llama_sampler_apply(sampler, ctypes.byref(candidates))
            if data[0].logit == float("-inf"):
                return False
            if token != eos:
                llama_cpp.llama_sampler_accept(sampler, token)
        return True
    finally:
        llama_cpp.llama_sampler_free(sampler)


def test_the_grammar_admits_every_act_line(vocab_model) -> None:  # type: ignore[no-untyped-def]
    for act in [*LINES, *(ActLine((kind,)) for kind in RequestKind), *(ActLine((), (move,)) for move in Move)]:
        assert admits(vocab_model, str(act)), str(act)


@pytest.mark.parametrize("line", ["cancel", "teleport|-|-", "cancel|-|-|", "-|-|no longer needed", "cancel|-|- ok",
                                  "cancel,return,exchange,search|-|-", "-|yes,no,only|-", "#W1234567|-|-", ""])
def test_the_grammar_refuses_anything_else(vocab_model, line: str) -> None:  # type: ignore[no-untyped-def]
    assert not admits(vocab_model, line)


class FixedWriter:
    def __init__(self, line: str) -> None:
        self.line = line
        self.seen: list[tuple[str, str]] = []

    def write(self, text: str, question: str = "") -> str:
        self.seen.append((text, question))
        return self.line


def test_the_lm_meaning_and_the_extracted_values_make_one_act() -> None:
    reader = LmReader(FixedWriter("cancel,return|-|no_longer_needed"))
    act = reader.read("cancel #W1234567 and return item 1234567890, i don't need them; mail jo@example.com")
    assert isinstance(act, DialogueAct)
    assert act.requests == [RequestKind.CANCEL, RequestKind.RETURN]
    assert act.slots.reason is Reason.NO_LONGER_NEEDED
    assert act.slots.order_ids == ["#W1234567"] and act.slots.item_ids == ["1234567890"]
    assert act.slots.email == "jo@example.com"  # values come from the message, never from the model
    assert DialogueAct.model_validate(act.model_dump()) == act


def test_a_line_that_does_not_parse_falls_back_to_the_other_reader() -> None:
    fallback = DialogueAct(requests=[RequestKind.HUMAN])
    reader = LmReader(FixedWriter("human|"), fallback=lambda text: fallback)
    assert reader.read("agent please") is fallback and reader.fallbacks == 1
    with pytest.raises(ValueError):
        LmReader(FixedWriter("human|")).read("agent please")


def test_the_prompt_hides_values_and_carries_the_question() -> None:
    prompt = prompt_text("smollm2-135m", "cancel #W1234567, email jo@example.com", "Which order?")
    assert "1234567" not in prompt and "jo@example.com" not in prompt
    assert "Agent: which order?\nCustomer: cancel orderid" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")
    assert prompt_text("gemma3-270m", "hi").startswith("<bos><start_of_turn>user\nCustomer: hi")


def test_training_rows_are_the_reader_rows_with_composed_pairs() -> None:
    examples = act_examples("train", None, 300, 0.1, 7)
    assert len(examples) == 300
    lines = [ActLine.parse(e.line) for e in examples]  # every label is one the grammar admits
    pairs = [(e, line) for e, line in zip(examples, lines, strict=True) if e.source.startswith("composed.")]
    assert len(pairs) == 30 and all(len(line.requests) == 2 for _, line in pairs)
    assert all(len(line.requests) <= 1 for e, line in zip(examples, lines, strict=True) if e not in dict(pairs))
    dev = {e.text for e in act_examples("dev", None, 100, 0.0, 8)}
    assert len(dev & {e.text for e in examples}) < 10  # dev phrasings are other phrasings


def test_the_loss_covers_the_act_line_only() -> None:
    from transformers import AutoTokenizer

    from finetune.train import base_checkpoint

    tokenizer = AutoTokenizer.from_pretrained(base_checkpoint("smollm2-135m"))
    example = act_examples("train", None, 20, 0.0, 7)[0]
    encoded = encode(tokenizer, "smollm2-135m", example, 160)
    assert encoded is not None
    answer = [t for t, label in zip(encoded.input_ids, encoded.labels, strict=True) if label != IGNORE]
    assert tokenizer.decode(answer) == example.line + "<|im_end|>"
    assert encoded.labels[:len(encoded.labels) - len(answer)] == [IGNORE] * (len(encoded.labels) - len(answer))
    assert encode(tokenizer, "smollm2-135m", example, 8) is None  # too long: left out


def test_training_runs_end_to_end_and_the_adapter_serves_under_llama_cpp(tmp_path: Path) -> None:
    from finetune.act_lm import train_act_lm

    config = ActLmConfig.load().model_copy(update={"data": ActDataConfig(train_examples=8, dev_examples=3)})
    summary = train_act_lm("smollm2-135m", tmp_path / "adapter", None, config, max_steps=2)
    assert summary["steps"] == 2 and len(summary["log"]) == 2
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    assert json.loads((tmp_path / "adapter" / "training.json").read_text())["train_examples"] == 8
    dev = summary["dev"]  # scored through the GGUF LoRA in llama.cpp: every line grammatical, so parsed
    assert dev["examples"] == 3 and dev["parsed"] == 1.0 and 0.0 <= dev["line"] <= 1.0 and dev["p50_ms"] > 0


def test_the_suite_keeps_an_lm_reader_s_reports_apart(tmp_path: Path) -> None:
    from evals.base import EvalConfig
    from evals.suites.understanding import UnderstandingEvaluator

    def where(**options: str) -> Path:
        return UnderstandingEvaluator(EvalConfig(data_dir=tmp_path, options=options)).result_dir(tmp_path)

    assert where() == tmp_path / "understanding"
    assert where(reader="lm:gemma3-270m") == tmp_path / "understanding-lm" / "gemma3-270m"
    assert where(reader="lm:smollm2-135m", adapter="none") == tmp_path / "understanding-lm" / "smollm2-135m-base"
    with pytest.raises(ValueError):
        where(reader="lm")


@pytest.mark.skipif(not (Path(__file__).resolve().parents[1] / "finetune" / "adapters" / "smollm2-135m-reader"
                         / "adapter_model.safetensors").is_file(), reason="no trained adapter")
def test_the_trained_adapter_reads_plain_messages() -> None:
    from agent.reader.lm import lm_reader

    reader = lm_reader("smollm2-135m")
    act = reader.read("please cancel my order #W1234567")
    assert act.requests == [RequestKind.CANCEL] and act.slots.order_ids == ["#W1234567"]
    assert reader.read("yes, go ahead").moves == [Move.YES]
    assert reader.fallbacks == 0


def test_the_token_limit_lets_the_longest_admitted_line_complete() -> None:
    from agent.reader.lm import MAX_NEW_TOKENS, REASONS

    longest = ActLine(tuple(sorted(RequestKind, key=len)[-3:]), tuple(sorted(Move, key=len)[-2:]),
                      max(REASONS, key=lambda r: len(REASONS[r])))
    assert len(str(longest)) < MAX_NEW_TOKENS  # one character a token at worst

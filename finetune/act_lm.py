"""LoRA fine-tuning of the LM reader: the act line (agent/reader/lm.py) from the classifier reader's training rows.

The rows are `finetune/reader_data.py`'s, a subset drawn evenly across phrasing kinds (the banks are uneven), plus
a few pairs of train rows joined into one two-request message, so the model learns to write requests in order.
The loss covers the act line only; the training loop's pieces are `finetune/train.py`'s. After training the adapter
is converted to a llama.cpp LoRA GGUF and scored on the dev phrasings the way it is served (grammar, llama.cpp).
"""

from __future__ import annotations

import json
import math
import random
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, Field
from tqdm import tqdm

from agent.reader.acts import Move, Reason, RequestKind
from agent.reader.lm import PROMPTS, ActLine, prompt_text
from agent.reader.reader import ACTIONS
from finetune.config import FinetuneConfig, LoraConfig, TrainConfig
from finetune.reader_data import NONE, Labelled, reader_examples
from finetune.train import (
    IGNORE,
    Encoded,
    _warmup_then_linear,
    answer_loss,
    batches,
    collate,
    load_for_training,
    machine,
    save_adapter,
)

DEFAULT_CONFIG = Path(__file__).parent / "act_lm.toml"
# How two requests are joined into one message (sentence breaks and joining words, as customers write them).
JOINS = {"en": [" and ", ". Also ", ", and also ", ". ", " then "], "zh": ["，还有", "。另外", "，然后", "；"]}


class ActDataConfig(BaseModel):
    train_examples: int = Field(2400, ge=1)
    dev_examples: int = Field(400, ge=1)
    composed_share: float = Field(0.08, ge=0, lt=1)


class ActLmConfig(BaseModel):
    seed: int = 7
    data: ActDataConfig = ActDataConfig()
    lora: LoraConfig = LoraConfig()
    train: TrainConfig = TrainConfig()
    models: dict[str, dict[str, dict[str, Any]]] = {}  # model -> {"train": overrides}

    @classmethod
    def load(cls, path: Path = DEFAULT_CONFIG) -> ActLmConfig:
        return cls.model_validate(tomllib.loads(Path(path).read_text()))

    def for_model(self, model: str) -> FinetuneConfig:
        """The training settings for one model, its overrides applied, in train.py's shape."""
        train = self.train.model_copy(update=self.models.get(model, {}).get("train", {}))
        return FinetuneConfig(model=model, seed=self.seed, lora=self.lora, train=TrainConfig.model_validate(
            train.model_dump()))


@dataclass(frozen=True)
class ActExample:
    text: str
    line: str  # the act line the model writes
    source: str


def act_line(row: Labelled) -> ActLine:
    return ActLine(tuple([RequestKind(row.request)] if row.request != NONE else []),
                   tuple([Move(row.move)] if row.move != NONE else []),
                   Reason(row.reason) if row.reason != NONE else None)


def kind_of(row: Labelled) -> str:
    """The phrasing kind a row was filled from ('bank.requests.cancel'), Bitext by intent."""
    return row.source if row.source.startswith("bitext.") else row.source.rsplit(".", 1)[0]


def balanced(rows: list[Labelled], count: int, rng: random.Random) -> list[Labelled]:
    """About `count` rows, as many of each phrasing kind as the kinds allow (small kinds give all they have)."""
    by_kind: dict[str, list[Labelled]] = {}
    for row in rows:
        by_kind.setdefault(kind_of(row), []).append(row)
    sizes = sorted(len(v) for v in by_kind.values())
    quota = next((q for q in range(1, sizes[-1] + 1) if sum(min(s, q) for s in sizes) >= count), sizes[-1])
    picked = [row for kind in sorted(by_kind) for row in rng.sample(by_kind[kind], min(quota, len(by_kind[kind])))]
    rng.shuffle(picked)
    return picked[:count]


def _language(text: str) -> str:
    return "zh" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en"


def composed(rows: list[Labelled], count: int, rng: random.Random) -> list[ActExample]:
    """Two rows that each make a different store action, joined: the act line lists both, in order."""
    actions = [r for r in rows if r.request in ACTIONS and r.move == NONE]
    out: list[ActExample] = []
    while actions and len(out) < count:
        first, second = rng.sample(actions, 2)
        language = _language(first.text)
        if first.request == second.request or _language(second.text) != language:
            continue
        text = first.text.rstrip(" .!?。！？") + rng.choice(JOINS[language]) + second.text
        reason = first.reason if first.reason != NONE else second.reason
        line = ActLine((RequestKind(first.request), RequestKind(second.request)), (),
                       Reason(reason) if reason != NONE else None)
        out.append(ActExample(text, str(line), f"composed.{kind_of(first)}+{kind_of(second)}"))
    return out


def act_examples(split: str, data_dir: Path | None, count: int, composed_share: float, seed: int) -> list[ActExample]:
    """The split's rows as (message, act line) pairs: a balanced subset and the composed pairs."""
    from tools.retail.loader import DEMO_STORE_JSON

    rng = random.Random(seed)
    rows = reader_examples(split, DEMO_STORE_JSON, data_dir, seed)
    joined = composed(rows, round(count * composed_share), rng)
    single = [ActExample(r.text, str(act_line(r)), r.source) for r in balanced(rows, count - len(joined), rng)]
    examples = single + joined
    rng.shuffle(examples)
    return examples


def encode(tokenizer: Any, model: str, example: ActExample, max_length: int) -> Encoded | None:
    """Prompt tokens (no loss) + act line and end-of-turn tokens (loss); None when it does not fit."""
    prompt = tokenizer(prompt_text(model, example.text), add_special_tokens=False)["input_ids"]
    answer = tokenizer(example.line + PROMPTS[model].end, add_special_tokens=False)["input_ids"]
    if len(prompt) + len(answer) > max_length:
        return None
    return Encoded(prompt + answer, [IGNORE] * len(prompt) + answer)


def train_act_lm(model: str, out_dir: Path, data_dir: Path | None, config: ActLmConfig | None = None,
                 *, max_steps: int | None = None, score_dev: bool = True) -> dict[str, Any]:
    """Fine-tune `model`'s LoRA on the act lines; write the adapter and training.json into out_dir."""
    config = config or ActLmConfig.load()
    settings = config.for_model(model)
    if max_steps:
        settings.train.max_steps = max_steps
    torch.manual_seed(config.seed)
    torch.set_num_threads(settings.train.threads)
    started = time.perf_counter()
    train = act_examples("train", data_dir, config.data.train_examples, config.data.composed_share, config.seed)
    dev = act_examples("dev", data_dir, config.data.dev_examples, config.data.composed_share, config.seed + 1)
    network, tokenizer = load_for_training(settings)
    encoded = [e for e in (encode(tokenizer, model, x, settings.train.max_length) for x in train) if e]
    log = fit(network, tokenizer, encoded, settings)
    save_adapter(network, out_dir)
    seconds = time.perf_counter() - started
    summary = {
        "model": model, "config": config.model_dump(), "steps": len(log), "train_examples": len(encoded),
        "left_out_too_long": len(train) - len(encoded), "train_tokens": sum(len(e.input_ids) for e in encoded),
        "final_train_loss": round(sum(x["loss"] for x in log[-20:]) / max(1, len(log[-20:])), 4),
        "train_seconds": round(seconds, 1), "machine": machine(),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"), "log": log,
    }
    if score_dev:
        summary["dev"] = score_dev_lines(model, out_dir, dev, settings.train.threads)
    (out_dir / "training.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out_dir / "README.md").write_text(card(summary))  # in place of peft's empty template
    return summary


def card(summary: dict[str, Any]) -> str:
    dev = summary.get("dev", {})
    return (f"# LM reader adapter for {summary['model']}\n\n"
            "A LoRA adapter (peft) that makes the model write a customer message's act line (`agent/reader/lm.py`): "
            "requests in order, moves, cancel reason, decoded under a grammar in llama.cpp; the extractors add the "
            "values. Trained by `shopagent reader train-lm` (`finetune/act_lm.py`, `finetune/act_lm.toml`) on "
            "the classifier reader's own training rows.\n\n"
            f"{summary['steps']} steps over {summary['train_examples']} examples ({summary['train_tokens']:,} tokens), "
            f"final training loss {summary['final_train_loss']}, **{summary['train_seconds'] / 60:.1f} min** on "
            f"{summary['machine']}.\n\nDev phrasings ({dev.get('examples', 0)} messages, as served): exact line "
            f"{dev.get('line', 0):.1%}, requests {dev.get('requests', 0):.1%}, moves {dev.get('moves', 0):.1%}, "
            f"reason {dev.get('reason', 0):.1%}; p50 {dev.get('p50_ms', 0)} ms a message.\n")


def fit(network: Any, tokenizer: Any, encoded: list[Encoded], settings: FinetuneConfig) -> list[dict[str, Any]]:
    """The training loop (train.py's batching and loss), without checkpoints: a run takes minutes."""
    train = settings.train
    per_epoch = math.ceil(len(encoded) / train.batch_size)
    total = train.max_steps or math.ceil(per_epoch * train.epochs)
    params = [p for p in network.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=train.learning_rate, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_then_linear(train.warmup_steps, total))
    network.train()
    log: list[dict[str, Any]] = []
    order: dict[int, list[list[Encoded]]] = {}
    for step in tqdm(range(total), desc=f"fine-tuning {settings.model}", unit="step"):
        epoch, index = divmod(step, per_epoch)
        order = order if epoch in order else {epoch: batches(encoded, train.batch_size, settings.seed, epoch)}
        loss = answer_loss(network, collate(order[epoch][index], tokenizer.pad_token_id or 0))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        log.append({"step": step + 1, "loss": round(loss.item(), 4)})
    return log


def score_dev_lines(model: str, adapter: Path, dev: list[ActExample], threads: int = 1) -> dict[str, Any]:
    """The adapter as served (GGUF LoRA, llama.cpp, grammar) on the dev phrasings: exact act lines and fields."""
    from agent.llm.model_files import default_cache_dir, resolve_model
    from agent.reader.lm import LlamaActWriter
    from finetune.gguf_lora import cached_gguf

    lora = cached_gguf(adapter, resolve_model(model).path, default_cache_dir())
    writer = LlamaActWriter(model, lora, n_threads=threads, n_threads_batch=threads)
    hits = {"line": 0, "parsed": 0, "requests": 0, "moves": 0, "reason": 0}
    seconds = []
    for example in tqdm(dev, desc="dev act lines", unit="msg"):
        started = time.perf_counter()
        got, want = writer.write(example.text), example.line
        seconds.append(time.perf_counter() - started)
        hits["line"] += got == want
        hits["parsed"] += _parses(got)
        for index, name in enumerate(("requests", "moves", "reason")):
            hits[name] += got.split("|")[index:index + 1] == want.split("|")[index:index + 1]
    seconds.sort()
    return {k: round(v / len(dev), 4) for k, v in hits.items()} | {
        "examples": len(dev), "p50_ms": round(seconds[len(seconds) // 2] * 1000, 1)}


def _parses(line: str) -> bool:
    try:
        ActLine.parse(line)
    except ValueError:
        return False
    return True

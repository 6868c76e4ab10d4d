"""The adapter's model card: what it is, what it was trained on, how, how long, and how well it does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CARD = """# shopagent tool-call adapter for {model}

A LoRA adapter (peft) that teaches {model} the agent's tool-call protocol (`agent/toolcall.py`): answer the
customer's last message with one JSON call — the tool that serves the request, with the arguments the
conversation states — or "none". Loaded by default by both inference backends (llama.cpp gets it as a LoRA GGUF
built at set-up; transformers merges it). Select the base model with `SHOPAGENT_ADAPTER=none`.

## Training data
Generated from the demo store and its policy by `finetune/data.py` (seed {seed}): multi-turn conversations for
every flow, played against the real agent on a scratch copy of the store, so every history holds real tool results
and replies; the scripted customer opens with a request and then answers what the agent actually asks — identity,
order, reason, address, item, option, payment method, confirmation (`finetune/customer.py`); customer phrasing
from `finetune/templates.toml` × store slot values × noise, plus real Bitext utterances (their train half).
Split by template and by customer/order (leakage check: {leakage}).

| split | examples | conversations |
|---|---|---|
{sizes}

## Configuration
```toml
{config}
```

## Training
{steps} optimiser steps over {train_examples} examples ({train_tokens:,} tokens), loss on the call tokens only.
Final training loss {final_train_loss}, dev loss {dev_loss}. Wall time **{minutes:.1f} min** on {machine}.

## Evaluation
{metrics}
"""


def write_card(adapter_dir: Path, summary: dict[str, Any], sizes: dict[str, Any], leakage: dict[str, int],
               config_text: str, metrics_markdown: str = "See evals/results/toolcalls/report.md.") -> Path:
    rows = "\n".join(f"| {split} | {s['examples']} | {s.get('conversations', '-')} |" for split, s in sizes.items())
    text = CARD.format(
        model=summary["model"], seed=summary["config"]["seed"], leakage=json.dumps(leakage), sizes=rows,
        config=config_text.strip(), steps=summary["steps"], train_examples=summary["train_examples"],
        train_tokens=summary["train_tokens"], final_train_loss=summary["final_train_loss"],
        dev_loss=summary["dev_loss"], minutes=summary["wall_seconds"] / 60, machine=summary["machine"],
        metrics=metrics_markdown)
    path = adapter_dir / "README.md"
    path.write_text(text)
    return path

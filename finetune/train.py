"""LoRA supervised fine-tuning on CPU: loss on the assistant's call only, checkpoints, resume, a model card."""

from __future__ import annotations

import json
import math
import os
import platform
import random
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from agent import toolcall
from finetune.config import FinetuneConfig

IGNORE = -100  # label of tokens that carry no loss (the prompt)


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]


def base_checkpoint(model: str) -> Path:
    """The model's dense float32 weights as a plain transformers folder (dequantised from the GGUF once, cached)."""
    from agent.llm.model_files import default_cache_dir, resolve_model
    from agent.llm.transformers_backend import build_checkpoint, checkpoint_dir

    cache = default_cache_dir()
    gguf = resolve_model(model, cache).path
    folder = checkpoint_dir(cache, gguf, "float32")
    if not (folder / "model.safetensors").is_file():
        build_checkpoint(gguf, folder, "float32")
    return folder


def target_text(target: dict[str, Any]) -> str:
    """The call as the model writes it: arguments in the tool schema's order (as the serving grammar has them)."""
    name, arguments = target["tool"], target["arguments"]
    if name in toolcall.runner().tools:
        order = toolcall.argument_names(name)
        arguments = {k: arguments[k] for k in sorted(arguments, key=order.index)}
    return toolcall.ToolCall(name, arguments).to_json()


def encode(tokenizer: Any, example: dict[str, Any], max_length: int) -> Encoded:
    """Prompt tokens (no loss) + the call and end-of-turn tokens (loss). Too long: drop the oldest turns."""
    messages = list(example["messages"])
    answer = tokenizer(target_text(example["target"]) + "<|im_end|>", add_special_tokens=False)["input_ids"]
    while True:
        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        if len(prompt_ids) + len(answer) <= max_length or len(messages) <= 2:
            break
        messages = [messages[0], *messages[3:]]  # the oldest user + tool pair goes first
    ids = (prompt_ids + answer)[-max_length:]
    labels = ([IGNORE] * len(prompt_ids) + answer)[-max_length:]
    return Encoded(ids, labels)


def batches(encoded: list[Encoded], batch_size: int, seed: int, epoch: int) -> list[list[Encoded]]:
    """Length-bucketed batches (little padding), in a seeded order that resume can reproduce."""
    rng = random.Random(seed + epoch)
    order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i].input_ids), rng.random()))
    groups = [[encoded[i] for i in order[k:k + batch_size]] for k in range(0, len(order), batch_size)]
    rng.shuffle(groups)
    return groups


def collate(batch: list[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, e in enumerate(batch):
        n = len(e.input_ids)
        ids[row, :n], labels[row, :n], mask[row, :n] = torch.tensor(e.input_ids), torch.tensor(e.labels), 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def answer_loss(model: Any, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy on the answer tokens only, with the output layer applied to those positions alone: the
    vocabulary projection of every prompt position would cost gigabytes of logits for nothing."""
    causal_lm = model.get_base_model()
    hidden = causal_lm.model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).last_hidden_state
    targets = inputs["labels"][:, 1:]
    keep = targets != IGNORE
    logits = causal_lm.lm_head(hidden[:, :-1][keep])
    return torch.nn.functional.cross_entropy(logits.float(), targets[keep])


def load_for_training(config: FinetuneConfig) -> tuple[Any, Any]:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = base_checkpoint(config.model)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    lora = LoraConfig(r=config.lora.rank, lora_alpha=config.lora.alpha, lora_dropout=config.lora.dropout,
                      target_modules=config.lora.target_modules, task_type="CAUSAL_LM")
    return get_peft_model(model, lora), tokenizer


def train(config: FinetuneConfig, data_dir: Path, out_dir: Path, resume: bool = True) -> dict[str, Any]:
    """Train on data_dir/train.jsonl, checkpointing into out_dir/checkpoints; write the adapter and its card."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    from finetune.data import read

    torch.manual_seed(config.seed)
    random.seed(config.seed)
    torch.set_num_threads(config.train.threads)
    started = time.perf_counter()
    model, tokenizer = load_for_training(config)
    train_rows = read(data_dir / "train.jsonl")
    encoded = [encode(tokenizer, row, config.train.max_length) for row in train_rows]
    per_epoch = math.ceil(len(encoded) / config.train.batch_size)
    total = config.train.max_steps or math.ceil(per_epoch * config.train.epochs)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.train.learning_rate, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_then_linear(config.train.warmup_steps, total))
    checkpoints = out_dir / "checkpoints"
    step, log = 0, []
    latest = _latest_checkpoint(checkpoints) if resume else None
    if latest is not None:
        set_peft_model_state_dict(model, load_file(latest / "adapter_model.safetensors"))
        state = torch.load(latest / "trainer_state.pt", weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step, log = state["step"], state["log"]
        torch.set_rng_state(state["torch_rng"])
    model.train()
    progress = tqdm(total=total, initial=step, desc="fine-tuning", unit="step")
    epoch_batches: dict[int, list[list[Encoded]]] = {}  # one seeded order per epoch, built once
    while step < total:
        epoch, index = divmod(step, per_epoch)
        if epoch not in epoch_batches:
            epoch_batches = {epoch: batches(encoded, config.train.batch_size, config.seed, epoch)}
        batch = epoch_batches[epoch][index]
        inputs = collate(batch, tokenizer.pad_token_id or 0)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.train.bf16):
            loss = answer_loss(model, inputs)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        log.append({"step": step, "loss": round(loss.item(), 4), "lr": schedule.get_last_lr()[0]})
        progress.set_postfix(loss=f"{loss.item():.3f}")
        progress.update(1)
        if step % config.train.checkpoint_every == 0 or step == total:
            _save_checkpoint(model, optimizer, schedule, step, log, checkpoints)
    progress.close()
    dev_loss = evaluate_loss(model, tokenizer, read(data_dir / "dev.jsonl"), config)
    seconds = time.perf_counter() - started
    adapter_dir = out_dir / "adapter"
    save_adapter(model, adapter_dir)
    summary = {
        "model": config.model, "config": config.model_dump(), "steps": step, "train_examples": len(encoded),
        "train_tokens": sum(len(e.input_ids) for e in encoded), "final_train_loss": _mean_tail(log),
        "dev_loss": dev_loss, "wall_seconds": round(seconds, 1), "machine": machine(),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"), "log": log,
    }
    (out_dir / "training.json").write_text(json.dumps(summary, indent=2))
    return summary


def _warmup_then_linear(warmup: int, total: int):  # type: ignore[no-untyped-def]
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.05, 1 - (step - warmup) / max(1, total - warmup))
    return factor


def _mean_tail(log: list[dict[str, Any]], n: int = 20) -> float | None:
    tail = [entry["loss"] for entry in log[-n:]]
    return round(sum(tail) / len(tail), 4) if tail else None


def _latest_checkpoint(folder: Path) -> Path | None:
    done = sorted(folder.glob("step-*/trainer_state.pt"))
    return done[-1].parent if done else None


def _save_checkpoint(model: Any, optimizer: Any, schedule: Any, step: int, log: list, folder: Path) -> None:
    target = folder / f"step-{step:06d}"
    partial = folder / f".step-{step:06d}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    torch.save({"optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(), "step": step, "log": log,
                "torch_rng": torch.get_rng_state()}, partial / "trainer_state.pt")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)  # a crash mid-save leaves no half checkpoint to resume from
    for old in sorted(folder.glob("step-*"))[:-2]:  # keep the last two
        shutil.rmtree(old, ignore_errors=True)


@torch.no_grad()
def evaluate_loss(model: Any, tokenizer: Any, rows: list[dict[str, Any]], config: FinetuneConfig) -> float | None:
    if not rows:
        return None
    model.eval()
    encoded = [encode(tokenizer, row, config.train.max_length) for row in rows]
    losses = []
    for batch in batches(encoded, config.train.batch_size, config.seed, 0):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.train.bf16):
            losses.append(answer_loss(model, collate(batch, tokenizer.pad_token_id or 0)).item())
    model.train()
    return round(sum(losses) / len(losses), 4)


def save_adapter(model: Any, adapter_dir: Path) -> None:
    """The adapter in float16 (half the size; the weights are small deltas)."""
    from safetensors.torch import load_file, save_file

    partial = adapter_dir.with_name(adapter_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    weights = partial / "adapter_model.safetensors"
    save_file({k: v.to(torch.float16) for k, v in load_file(weights).items()}, weights)
    shutil.rmtree(adapter_dir, ignore_errors=True)
    partial.rename(adapter_dir)


def machine() -> str:
    return f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), {platform.system()}, CPU only"

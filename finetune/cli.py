"""`shopagent finetune`: generate the training data, train the LoRA adapter (resumable), write its model card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from finetune.config import DEFAULT_CONFIG, FinetuneConfig

DEFAULT_OUT = Path(__file__).parent / "adapters" / "smollm2-135m-toolcall"
console = Console()


def finetune_command(
    config: Annotated[Path, typer.Option(help="Fine-tuning configuration (TOML).")] = DEFAULT_CONFIG,
    data_dir: Annotated[Path | None, typer.Option(help="Folder with the layout of shared/data (Bitext).")] = None,
    out: Annotated[Path, typer.Option(help="Run folder: data/, checkpoints/, and the adapter itself.")] = DEFAULT_OUT,
    resume: Annotated[bool, typer.Option(help="Continue from the last checkpoint in OUT.")] = True,
    extra: Annotated[list[Path] | None, typer.Option(
        help="More training examples (JSONL, e.g. `shopagent feedback export`'s), added to the train split; "
             "repeatable.")] = None,
) -> None:
    """Fine-tune the agent's model with LoRA on store-grounded tool-call conversations."""
    from finetune.card import write_card
    from finetune.data import build, leakage, read
    from finetune.extra import add_to_train, fingerprint, load_extra
    from finetune.train import train
    from server.config import get_settings

    try:
        settings = FinetuneConfig.load(config)
    except (OSError, ValueError) as error:
        console.print(f"[bold red]error:[/] bad config {config}: {error}")
        raise typer.Exit(2) from None
    extras = list(extra or [])
    try:
        added = load_extra(extras)
    except (OSError, ValueError) as error:  # checked before anything is generated or trained
        console.print(f"[bold red]error:[/] bad --extra file: {error}")
        raise typer.Exit(2) from None
    data_dir = data_dir or get_settings().data_dir
    work = out / "data"
    stamp = json.dumps({"data": settings.data.model_dump(), "seed": settings.seed, "extra": fingerprint(extras)})
    if not resume or not (work / "stamp.json").is_file() or (work / "stamp.json").read_text() != stamp:
        shutil.rmtree(out / "checkpoints", ignore_errors=True)  # new data: old checkpoints do not apply
        with console.status("Generating training data from the store..."):
            build(work, data_dir if data_dir.is_dir() else None, settings.data.train_conversations,
                  settings.data.dev_conversations, settings.seed, settings.data.bitext_examples)
        add_to_train(work, added)
        (work / "stamp.json").write_text(stamp)
    sizes = json.loads((work / "sizes.json").read_text())
    leaks = leakage(read(work / "train.jsonl"), read(work / "dev.jsonl"))
    console.print(f"data: {sizes}; train/dev overlap: {leaks}")
    if extras:
        console.print(f"extra: {len(added.examples)} call examples added to train, {added.skipped_replies} reply "
                      "examples skipped (this model writes calls)")
    summary = train(settings, work, out, resume=resume)
    adapter = out / "adapter"
    for name in ("adapter_config.json", "adapter_model.safetensors"):  # the shipped files sit at OUT's top
        shutil.copy(adapter / name, out / name)
    shutil.rmtree(adapter)
    card = write_card(out, summary, sizes, leaks, config.read_text())
    console.print(f"[bold green]adapter written[/] to {out} ({summary['wall_seconds'] / 60:.1f} min); card: {card}")

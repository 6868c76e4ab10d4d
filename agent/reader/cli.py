"""`shopagent reader …`: train the message reader, or read a message and print its dialogue act."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agent.reader.acts import Context

app = typer.Typer(help="The message reader: every customer message as a dialogue act.", no_args_is_help=True)
console = Console()


@app.command("train")
def train(
    data_dir: Annotated[Path | None, typer.Option(help="A folder with the layout of shared/data (Bitext).")] = None,
    out: Annotated[Path | None, typer.Option(help="The model file (default: the shipped reader).")] = None,
    embeddings: Annotated[bool, typer.Option(help="Add the MiniLM sentence embedding to the n-gram features.")]
    = True,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """Fit the reader's heads on the train phrasings; report them on the dev phrasings."""
    from agent.reader.reader import MODEL_FILE
    from finetune.reader_train import train_reader
    from server.config import get_settings

    data_dir = data_dir or get_settings().data_dir
    with console.status("Training the reader..."):
        summary = train_reader(out or MODEL_FILE, data_dir if data_dir.is_dir() else None, embeddings=embeddings,
                               seed=seed)
    accuracy = ", ".join(f"{head} {value:.3f}" for head, value in summary["dev_accuracy"].items())
    console.print(f"{summary['train_examples']} train / {summary['dev_examples']} dev phrasings; dev accuracy: "
                  f"{accuracy}; {summary['seconds']} s. Saved to {out or MODEL_FILE}")


@app.command("read")
def read(text: Annotated[str, typer.Argument(help="A customer message.")],
         context: Annotated[Context | None, typer.Option(help="The agent's last question.")] = None) -> None:
    """Print the dialogue act the reader makes of a message."""
    from agent.reader import default_reader

    console.print_json(default_reader().read(text, context).model_dump_json(exclude_defaults=True))


@app.command("train-lm")
def train_lm(
    model: Annotated[str, typer.Option(help="smollm2-135m or gemma3-270m.")] = "smollm2-135m",
    data_dir: Annotated[Path | None, typer.Option(help="A folder with the layout of shared/data (Bitext).")] = None,
    out: Annotated[Path | None, typer.Option(help="The adapter folder (default: finetune/adapters/MODEL-reader).")]
    = None,
    config: Annotated[Path | None, typer.Option(help="Training settings (default: finetune/act_lm.toml).")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many steps (smoke runs).")] = None,
) -> None:
    """LoRA-tune an LM to write the act line; score it on the dev phrasings as served (llama.cpp, grammar)."""
    from agent.reader.lm import PROMPTS, adapter_dir
    from finetune.act_lm import ActLmConfig, train_act_lm
    from server.config import get_settings

    if model not in PROMPTS:
        console.print(f"[bold red]error:[/] unknown model {model!r}: use one of {', '.join(PROMPTS)}")
        raise typer.Exit(2)
    data_dir = data_dir or get_settings().data_dir
    settings = ActLmConfig.load(config) if config else ActLmConfig.load()
    summary = train_act_lm(model, out or adapter_dir(model), data_dir if data_dir.is_dir() else None, settings,
                           max_steps=max_steps)
    console.print(f"{summary['steps']} steps on {summary['train_examples']} examples in "
                  f"{summary['train_seconds'] / 60:.1f} min; dev: {summary.get('dev')}. "
                  f"Saved to {out or adapter_dir(model)}")

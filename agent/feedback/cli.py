"""`shopagent feedback …`: the customers' and staff's feedback as training examples."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agent.privacy.cli import actor

app = typer.Typer(help="Feedback: 👍/👎, solved answers and staff edits as training examples.", no_args_is_help=True)
console = Console()


@app.command("export")
def export(out: Annotated[Path, typer.Option(help="JSONL file to write (finetune/'s example format).")]) -> None:
    """Write the feedback as privacy-masked training examples (`shopagent finetune --extra OUT` takes them in)."""
    from agent.feedback.export import export_feedback
    from server.cli import loaded_store

    if not out.parent.is_dir():
        console.print(f"[bold red]error:[/] no folder {out.parent}")
        raise typer.Exit(2)
    counts = export_feedback(loaded_store(), out, actor=actor())
    os.chmod(out, 0o600)  # masked, but still customers' words
    written = counts["thumbs_up"] + counts["solved_yes"] + counts["staff_edit"]
    console.print(f"{written} examples written to {out}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                  + " (thumbs_down / solved_no left out; *_unusable: a turn with no call the model may write)")

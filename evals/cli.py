"""`shopagent eval`: run evaluation suites, write their reports and the index page, flag regressions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from evals.base import EvalConfig, SuiteRun
from evals.index import write_index
from evals.registry import available_suites, load_evaluator

REGRESSION_EXIT = 3  # distinct from 2 (bad input) so CI can tell "worse" from "broken"
console = Console()
errors = Console(stderr=True, soft_wrap=True)


def eval_command(
    suites: Annotated[list[str] | None, typer.Argument(help="Suites to run (default with --all: every suite).")] = None,
    run_all: Annotated[bool, typer.Option("--all", help="Run every suite and write the index page.")] = False,
    data_dir: Annotated[Path | None, typer.Option(help="A folder with the layout of shared/data.")] = None,
    out: Annotated[Path, typer.Option(help="Where reports go: OUT/<suite>/, OUT/index.md|html.")] = Path(
        "evals/results"),
    baseline: Annotated[Path | None, typer.Option(help="A previous OUT folder to compare with.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for every sampled choice.")] = 13,
    quick: Annotated[bool, typer.Option(help="Smaller samples: a smoke run.")] = False,
    backend: Annotated[str | None, typer.Option(help="Model backend for model suites (default from settings).")] = None,
    model: Annotated[str | None, typer.Option(help="Model for model suites (default from settings).")] = None,
    adapter: Annotated[str | None, typer.Option(help="LoRA adapter; 'none' for the base model.")] = None,
    option: Annotated[list[str] | None, typer.Option(help="Suite-specific KEY=VALUE, repeatable.")] = None,
) -> None:
    """Run evaluation suites on a data folder; exit 3 when a metric regressed against --baseline."""
    from server.config import get_settings

    names = list(suites or [])
    if run_all:
        names = names or available_suites()
    if not names:
        raise _fail(f"name a suite or pass --all; available: {', '.join(available_suites())}")
    settings = get_settings()
    config = EvalConfig(
        data_dir=data_dir or settings.data_dir, seed=seed, quick=quick, backend=backend or settings.backend,
        model=model or settings.model, adapter=adapter if adapter is not None else settings.adapter,
        threads=settings.threads, options=_parse_options(option or []))
    if not config.data_dir.is_dir():
        raise _fail(f"data folder not found: {config.data_dir}")
    if baseline is not None and not baseline.is_dir():
        raise _fail(f"baseline folder not found: {baseline}")
    try:
        evaluators = [load_evaluator(name, config) for name in names]
    except KeyError as error:
        raise _fail(str(error.args[0])) from None
    runs = []
    for evaluator in evaluators:
        console.rule(f"[bold]{evaluator.title}")
        try:
            runs.append(evaluator.run(out, baseline))
        except FileNotFoundError as error:
            raise _fail(str(error)) from None
    index = write_index(out)
    _print_summary(runs)
    console.print(f"Reports: {index} (and index.html)")
    if any(run.regressions for run in runs):
        raise typer.Exit(REGRESSION_EXIT)


def _parse_options(pairs: list[str]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise _fail(f"--option wants KEY=VALUE, got {pair!r}")
        parsed[key.strip()] = value.strip()
    return parsed


def _print_summary(runs: list[SuiteRun]) -> None:
    table = Table("suite", "headline", "regressions", "time")
    for run in runs:
        headline = ", ".join(f"{n}={m.value:.4g}" for n, m in list(run.result.metrics.items())[:3])
        flagged = ", ".join(r.metric for r in run.regressions) or ("none" if run.baseline_found else "-")
        table.add_row(run.suite, headline, f"[red]{flagged}[/]" if run.regressions else flagged,
                      f"{run.seconds:.0f} s")
    console.print(table)


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}")
    return typer.Exit(2)

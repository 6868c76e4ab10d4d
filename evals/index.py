"""The index page of an evaluation output folder: one Markdown and one static HTML page linking every suite."""

from __future__ import annotations

import html
from pathlib import Path

import markdown

from evals.base import REPORT_FILE, format_value, read_metrics

HTML_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}}
table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}}
img{{max-width:100%}}code{{background:#f4f4f4;padding:0 .2rem}}.regressed{{color:#b00020;font-weight:600}}</style>
</head><body>
{body}
</body></html>
"""


def write_index(out_root: Path) -> Path:
    """(Re)write index.md and index.html for every suite that has results in `out_root`; HTML for each report."""
    rows = []
    for suite_dir in sorted(p for p in out_root.iterdir() if p.is_dir()):
        metrics = read_metrics(suite_dir)
        if metrics is None:
            continue
        write_html(suite_dir / REPORT_FILE, suite_dir / "report.html", metrics["title"])
        headline = ", ".join(f"{name} {format_value(m['value'])}" for name, m in list(metrics["metrics"].items())[:4])
        flag = f"**{len(metrics['regressions'])} regression(s)**" if metrics["regressions"] else "—"
        rows.append(f"| [{metrics['title']}]({suite_dir.name}/{REPORT_FILE}) | `{suite_dir.name}` | {headline} | "
                    f"{flag} | {metrics['seconds']:.0f} s | {metrics['created_at']} |")
    lines = ["# shopagent evaluation report", "",
             "Each suite's report (Markdown; an HTML copy sits beside it) with its headline figures.", "",
             "| report | suite | headline metrics | regressions | run time | run at (UTC) |",
             "|---|---|---|---|---|---|",
             *rows, ""]
    index_md = out_root / "index.md"
    index_md.write_text("\n".join(lines))
    write_html(index_md, out_root / "index.html", "shopagent evaluation report", link_html=True)
    return index_md


def write_html(source: Path, target: Path, title: str, link_html: bool = False) -> None:
    text = source.read_text()
    if link_html:  # the static site links the HTML copies
        text = text.replace(f"/{REPORT_FILE})", "/report.html)")
    body = markdown.markdown(text, extensions=["tables", "fenced_code"])
    target.write_text(HTML_PAGE.format(title=html.escape(title), body=body))

"""Per-turn latency of the agent on a fixed set of customer turns, per inference backend.

Each backend runs in its own process (so peak memory is its own) over the same scripted conversations on a
fresh copy of the demo store: time to the first streamed token, time to the complete reply, generated tokens/s
and peak RSS. Writes JSON, a Markdown table and a plot.

    python -m evals.latency_benchmark --out evals/results [--backends llama_cpp transformers] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Scripted conversations: each list is one session, turns in order (identity, orders, search, actions).
CONVERSATIONS: list[list[str]] = [
    ["hi there!", "where is my order #W2611340?", "my email is james.li4495@example.com", "thanks!"],
    ["do you have a mechanical keyboard?", "any water bottles under $50?", "I need a new office chair"],
    ["I'm James Li, zip 10083", "show my account", "I want to return the boots from #W4435622", "no"],
    ["my email is emma.smith3991@example.com", "cancel #W2417020, I ordered it by mistake", "yes"],
    ["can I talk to a real person please?"],
    ["what's the weather like today?", "hmm ok, what can you do?"],
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def run_backend(backend: str, model: str, repeats: int, queue: multiprocessing.Queue, adapter: str | None = None,
                conversations: list[list[str]] | None = None) -> None:
    """One backend, in a child process: time every turn of every conversation `repeats` times."""
    from agent.manager import Agent
    from server.config import Settings
    from server.services import open_model, open_retriever
    from tools.context import IdentityPolicy
    from tools.retail.loader import load_store
    from tools.store import Store, sqlite_url

    home = Path(tempfile.mkdtemp(prefix="latency-"))  # fresh stores; the search index and model caches are reused
    settings = Settings(backend=backend, model=model, adapter=adapter)
    started = time.perf_counter()
    chat_model = open_model(settings)
    load_s = time.perf_counter() - started
    turns: list[dict[str, Any]] = []
    for repeat in range(repeats):
        store = Store(sqlite_url(home / f"store-{repeat}.db"))
        store.migrate()
        load_store(store)
        agent = Agent(store, model=chat_model, retriever=open_retriever(store, settings),
                      identity=IdentityPolicy.BENCHMARK)  # the scripts sign in by email, as tau2's customers do
        for conversation in conversations or CONVERSATIONS:
            session, _ = agent.open_session()
            for text in conversation:
                turns.append(time_turn(agent, session.id, text, chat_model))
        store.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    shutil.rmtree(home, ignore_errors=True)
    queue.put({"backend": backend, "model": model, "load_s": load_s, "peak_rss_mb": peak_mb, "turns": turns})


def time_turn(agent: Any, session_id: str, text: str, chat_model: Any) -> dict[str, Any]:
    from agent.reader import default_reader

    started = time.perf_counter()
    default_reader().read(text)  # the understanding step alone (the turn reads the message again)
    reader_s = time.perf_counter() - started
    started = time.perf_counter()
    first_token = None
    generated = 0
    generation_s = 0.0
    decode_rate = None
    pieces: list[str] = []
    reply = ""
    for event in agent.turn(session_id, text):
        if event.type == "token":
            pieces.append(event.data["text"])
            if first_token is None:
                first_token = time.perf_counter() - started
        if event.type == "message":
            total = time.perf_counter() - started
            reply = event.data["text"]
    stats = getattr(chat_model, "last_stats", None)
    if stats is not None:
        generated = stats.generated_tokens
        generation_s = float(stats.extra.get("wall_s", 0.0))
        decode_rate = stats.extra.get("decode_tokens_per_s")
    opening = model_opening(reply)
    return {"text": text, "reader_s": reader_s, "ttft_s": first_token or total, "total_s": total,
            "generated_tokens": generated,
            "generation_s": generation_s, "decode_tokens_per_s": decode_rate,
            "model_written": opening is not None, "pieces": len(pieces),
            "opening_pieces": pieces_of(opening, pieces) if opening else 0}


def model_opening(reply: str) -> str | None:
    """The model's opening line the reply starts with (agent/prompts/openings.toml), if it has one: a line of a kind
    with a choice to make (a kind's only line is sent without asking the model)."""
    from agent.voice import OPENINGS

    lines = {line for kind in OPENINGS.values() if len(kind) > 1 for line in kind}
    return next((line for line in sorted(lines, key=len, reverse=True) if reply.startswith(line + " ")), None)


def pieces_of(opening: str, pieces: list[str]) -> int:
    """How many of the streamed pieces the opening line came in."""
    sent = ""
    for count, piece in enumerate(pieces, start=1):
        sent += piece
        if len(sent.rstrip()) >= len(opening):
            return count
    return len(pieces)


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    turns = result["turns"]
    ttft = [t["ttft_s"] for t in turns]
    reader = [t.get("reader_s", 0.0) for t in turns]
    total = [t["total_s"] for t in turns]
    tokens = sum(t["generated_tokens"] for t in turns)
    rates = [t["decode_tokens_per_s"] for t in turns if t.get("decode_tokens_per_s")]
    seconds = sum(t["generation_s"] for t in turns)
    written = [t for t in turns if t.get("model_written")]  # replies with text the model wrote: its opening line
    return {
        "backend": result["backend"],
        "model": result["model"],
        "turns": len(turns),
        "reader_p50_s": statistics.median(reader),
        "reader_p95_s": percentile(reader, 95),
        "ttft_p50_s": statistics.median(ttft),
        "ttft_p95_s": percentile(ttft, 95),
        "reply_p50_s": statistics.median(total),
        "reply_p95_s": percentile(total, 95),
        "tokens_per_s": tokens / seconds if seconds else None,
        "decode_tokens_per_s": statistics.median(rates) if rates else None,
        "peak_rss_mb": result["peak_rss_mb"],
        "load_s": result["load_s"],
        "model_replies": len(written),
        "model_first_piece_p50_s": statistics.median(t["ttft_s"] for t in written) if written else None,
        "model_multi_piece_share": share(written, lambda t: t["pieces"] > 1),
        "opening_multi_piece_share": share(written, lambda t: t["opening_pieces"] > 1),
    }


def share(turns: list[dict[str, Any]], holds: Any) -> float | None:
    return sum(1 for t in turns if holds(t)) / len(turns) if turns else None


def write_outputs(summaries: list[dict[str, Any]], raw: list[dict[str, Any]], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} (CPU only)"
    payload = {"machine": machine, "date": datetime.now(UTC).isoformat(timespec="seconds"),
               "conversations": CONVERSATIONS, "summary": summaries, "raw": raw}
    (out / "latency.json").write_text(json.dumps(payload, indent=2))
    header = (
        "| backend | model | turns | reader p50 / p95 (s) | first token p50 / p95 (s) | full reply p50 / p95 (s) "
        "| decode tok/s | tok/s incl. prompt | peak RSS (MB) | model-written replies: first piece p50 (s), "
        "in >1 piece, opening in >1 piece |"
    )
    lines = [header, "|---|---|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        rate = f"{s['tokens_per_s']:.1f}" if s["tokens_per_s"] else "-"
        decode = f"{s['decode_tokens_per_s']:.1f}" if s["decode_tokens_per_s"] else "-"
        lines.append(
            f"| {s['backend']} | {s['model']} | {s['turns']} | {s['reader_p50_s']:.3f} / {s['reader_p95_s']:.3f} "
            f"| {s['ttft_p50_s']:.3f} / {s['ttft_p95_s']:.3f} | "
            f"{s['reply_p50_s']:.3f} / {s['reply_p95_s']:.3f} | {decode} | {rate} | {s['peak_rss_mb']:.0f} "
            f"| {streamed_text(s)} |"
        )
    (out / "latency.md").write_text(f"Machine: {machine}\n\n" + "\n".join(lines) + "\n")
    plot(raw, out / "latency.png")
    print("\n".join(lines))


def streamed_text(s: dict[str, Any]) -> str:
    """The streaming columns: over the replies whose opening the model wrote."""
    if not s.get("model_replies"):
        return "no model-written reply"
    return (f"{s['model_first_piece_p50_s']:.3f} s, {s['model_multi_piece_share']:.0%}, "
            f"{s['opening_multi_piece_share']:.0%} (of {s['model_replies']})")


def plot(raw: list[dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return
    figure, axis = plt.subplots(figsize=(7, 4))
    data, labels = [], []
    for result in raw:
        data += [[t["ttft_s"] for t in result["turns"]], [t["total_s"] for t in result["turns"]]]
        labels += [f"{result['backend']}\nfirst token", f"{result['backend']}\nfull reply"]
    axis.boxplot(data, tick_labels=labels)
    axis.set_ylabel("seconds per turn")
    axis.axhline(1.0, color="tab:green", linestyle="--", linewidth=1, label="first-token target 1.0 s")
    axis.axhline(2.5, color="tab:orange", linestyle="--", linewidth=1, label="full-reply target 2.5 s")
    axis.legend(loc="upper left", fontsize=8)
    axis.set_title("shopagent per-turn latency (2-core CPU)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("evals/results"))
    parser.add_argument("--backends", nargs="+", default=["llama_cpp", "transformers"])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    raw = measure(args.backends, args.model, args.repeats)
    write_outputs([summarise(result) for result in raw], raw, args.out)


def measure(backends: list[str], model: str, repeats: int, adapter: str | None = None,
            conversations: list[list[str]] | None = None) -> list[dict[str, Any]]:
    """Each backend in its own spawned process, so its peak memory is its own."""
    context = multiprocessing.get_context("spawn")
    raw = []
    for backend in backends:
        queue = context.Queue()
        process = context.Process(target=run_backend,
                                  args=(backend, model, repeats, queue, adapter, conversations))
        process.start()
        raw.append(queue.get())
        process.join()
        print(f"{backend}: done")
    return raw


if __name__ == "__main__":
    main()

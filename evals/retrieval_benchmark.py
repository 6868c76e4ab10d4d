"""Retrieval benchmark on the Home Depot product-search relevance data.

Indexes every product title, ranks the whole catalogue for every judged query and reports nDCG@10
(gain = relevance - 1, unjudged = 0) and Recall@100 (relevance >= 2.33) for BM25, dense, fuzzy and
the hybrid, plus index build time and end-to-end hybrid query latency. `--tune` grid-searches the
fusion weights on a seeded half of the queries and writes them to retrieval/fusion_weights.json.

    python -m evals.retrieval_benchmark --data-dir ../shared/data --out evals/results [--tune]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import logging
import os
import platform
import random
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from retrieval import Document, HybridRetriever, RetrieverConfig, rrf
from retrieval.fuzzy import fuzzy_scores
from retrieval.retriever import WEIGHTS_FILE

log = logging.getLogger("retrieval_benchmark")

RELEVANT = 2.33  # "relevant" for recall: at least two of three raters said relevant
K_NDCG = 10
K_RECALL = 100
SEED = 13
GRID_BM25 = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)
GRID_FUZZY = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
GRID_RRF_K = (10.0, 20.0, 40.0, 60.0)


# ---------------------------------------------------------------------------------- data


def load_catalogue(data_dir: Path) -> list[Document]:
    with open(data_dir / "homedepot" / "products.csv", newline="", encoding="utf-8", errors="replace") as fh:
        return [
            Document(doc_id=row["product_uid"], title=row["product_title"], text=row["product_title"],
                     product_id=row["product_uid"])
            for row in csv.DictReader(fh)
        ]


def load_judgements(data_dir: Path) -> dict[str, dict[str, float]]:
    """search_term -> {product_uid: relevance}; a pair judged twice keeps the mean."""
    acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    with open(data_dir / "homedepot" / "relevance.csv", newline="", encoding="utf-8", errors="replace") as fh:
        for row in csv.DictReader(fh):
            acc[row["search_term"].strip()][row["product_uid"]].append(float(row["relevance"]))
    return {q: {p: float(np.mean(r)) for p, r in judged.items()} for q, judged in acc.items() if q}


# ---------------------------------------------------------------------------------- metrics


def ndcg_at(ranked: list[str], judged: dict[str, float], k: int = K_NDCG) -> float:
    gains = [judged.get(doc, 1.0) - 1.0 for doc in ranked[:k]]
    dcg = sum(g / np.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted((r - 1.0 for r in judged.values()), reverse=True)[:k]
    idcg = sum(g / np.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: list[str], judged: dict[str, float], k: int = K_RECALL) -> float | None:
    relevant = {doc for doc, r in judged.items() if r >= RELEVANT}
    if not relevant:
        return None  # undefined: such queries are left out of the mean
    return len(relevant & set(ranked[:k])) / len(relevant)


def summarise(runs: dict[str, list[str]], qrels: dict[str, dict[str, float]], queries: list[str]) -> dict:
    ndcg = [ndcg_at(runs[q], qrels[q]) for q in queries]
    recalls = [r for q in queries if (r := recall_at(runs[q], qrels[q])) is not None]
    return {
        "ndcg@10": round(float(np.mean(ndcg)), 4),
        "recall@100": round(float(np.mean(recalls)), 4),
        "queries": len(queries),
        "queries_with_relevant": len(recalls),
    }


# ---------------------------------------------------------------------------------- runs


def method_rankings(retriever: HybridRetriever, queries: list[str]) -> dict[str, dict[str, np.ndarray]]:
    """Per query, the BM25 / dense / fuzzy-of-pool rankings that the hybrid fuses (doc indices)."""
    prepared = [retriever.prepare(q) for q in queries]
    # One batched encode of all queries: the same vectors as per-query encoding, far faster.
    vectors = retriever.encoder.encode([p.text for p in prepared], batch_size=256, progress=True)
    out: dict[str, dict[str, np.ndarray]] = {}
    for p, vec in tqdm(zip(prepared, vectors, strict=True), total=len(prepared), desc="rankings"):
        p.vector = vec
        out[p.query] = retriever.rankings(p, retriever.filter_index.mask(p.filters))
    return out


def fuzzy_full(retriever: HybridRetriever, queries: list[str], k: int) -> dict[str, np.ndarray]:
    """Fuzzy matching alone over the whole catalogue (too slow for serving; a baseline here)."""
    out = {}
    for q in tqdm(queries, desc="fuzzy (whole catalogue)"):
        scores = fuzzy_scores(retriever.prepare(q).text, retriever._fuzzy_texts)
        top = np.argpartition(-scores, k)[:k]
        out[q] = top[np.argsort(-scores[top], kind="stable")]
    return out


def fuse(rankings: dict[str, np.ndarray], weights: dict[str, float], rrf_k: float) -> np.ndarray:
    return rrf(rankings, weights, rrf_k)[0]  # the same fusion search() applies


def to_ids(retriever: HybridRetriever, idx: np.ndarray, k: int = K_RECALL) -> list[str]:
    return [retriever.docs[i].doc_id for i in idx[:k].tolist()]


def tune(
    retriever: HybridRetriever, ranks: dict[str, dict[str, np.ndarray]], qrels: dict, queries: list[str]
) -> tuple[dict[str, float], float, list[dict]]:
    """Grid search (dense weight fixed at 1: only ratios matter) maximising mean nDCG@10."""
    grid = []
    for w_bm25, w_fuzzy, rrf_k in tqdm(
        list(itertools.product(GRID_BM25, GRID_FUZZY, GRID_RRF_K)), desc="tuning"
    ):
        weights = {"bm25": w_bm25, "dense": 1.0, "fuzzy": w_fuzzy}
        ndcg = float(np.mean([
            ndcg_at(to_ids(retriever, fuse(ranks[q], weights, rrf_k), K_NDCG), qrels[q]) for q in queries
        ]))
        grid.append({"weights": weights, "rrf_k": rrf_k, "ndcg@10": round(ndcg, 4)})
    best = max(grid, key=lambda g: g["ndcg@10"])
    return best["weights"], best["rrf_k"], grid


def latency(retriever: HybridRetriever, queries: list[str], n: int, warmup: int = 50, seed: int = SEED) -> dict:
    """End-to-end search() latency (parse, typo fix, query encoding, BM25, FAISS, fuzzy, fusion),
    sequential queries after a warm-up."""
    warmup = min(warmup, len(queries) // 2)  # a small judged set still leaves queries to time
    rng = random.Random(seed)
    picked = rng.sample(queries, min(n + warmup, len(queries)))
    for q in picked[:warmup]:  # warm-up queries are not measured (no cache can flatter the figures)
        retriever.search(q, k=10)
    sample = picked[warmup:]
    times = []
    for q in tqdm(sample, desc="latency"):
        start = time.perf_counter()
        retriever.search(q, k=10)
        times.append((time.perf_counter() - start) * 1000)
    arr = np.array(times)
    return {
        "queries": len(arr),
        "p50_ms": round(float(np.percentile(arr, 50)), 2),
        "p95_ms": round(float(np.percentile(arr, 95)), 2),
        "p99_ms": round(float(np.percentile(arr, 99)), 2),
        "mean_ms": round(float(arr.mean()), 2),
        "max_ms": round(float(arr.max()), 2),
    }


def machine_info() -> dict:
    try:
        import onnxruntime

        ort = onnxruntime.__version__
    except ImportError:
        ort = None
    return {
        "cpu_count": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "onnxruntime": ort,
    }


# ---------------------------------------------------------------------------------- main


def run(
    data_dir: Path,
    out_dir: Path,
    tune_weights: bool = False,
    cache_dir: Path | None = None,
    latency_queries: int = 2000,
    fuzzy_sample: int = 1000,
    rebuild: bool = False,
    seed: int = SEED,
) -> dict:
    """Run the benchmark; returns the report written to out_dir/retrieval.json and retrieval.md."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    cache_dir = Path(cache_dir) if cache_dir else Path(".shopagent/cache/retrieval_benchmark")
    docs = load_catalogue(data_dir)
    qrels = load_judgements(data_dir)
    queries = sorted(qrels)
    log.info("%d products, %d judged queries", len(docs), len(queries))

    config = RetrieverConfig(embedding_cache_dir=cache_dir / "embeddings")
    index_dir = cache_dir / "index"
    if rebuild:  # re-encode too, so the reported build time is a real full build
        for stale in [index_dir / "manifest.json", *(cache_dir / "embeddings").glob("emb-*.npy")]:
            stale.unlink(missing_ok=True)
    start = time.perf_counter()
    retriever = HybridRetriever.open(docs, index_dir, config)
    open_seconds = time.perf_counter() - start
    encode_info = _encode_timing(cache_dir, retriever)

    depth = retriever.config.candidate_depth
    ranks = method_rankings(retriever, queries)

    rng = random.Random(seed)
    shuffled = queries[:]
    rng.shuffle(shuffled)
    tune_q, test_q = sorted(shuffled[: len(shuffled) // 2]), sorted(shuffled[len(shuffled) // 2:])

    tuning = None
    if tune_weights:
        weights, rrf_k, grid = tune(retriever, ranks, qrels, tune_q)
        WEIGHTS_FILE.write_text(json.dumps({
            "weights": weights,
            "rrf_k": rrf_k,
            "tuned_on": f"homedepot relevance.csv, seeded ({seed}) 50% query split, {len(tune_q)} queries",
            "objective": "mean nDCG@10",
            "tuned_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }, indent=2) + "\n")
        retriever.config = retriever.config.model_copy(update={"weights": weights, "rrf_k": rrf_k})
        top = sorted(grid, key=lambda g: -g["ndcg@10"])[:10]
        tuning = {"chosen": {"weights": weights, "rrf_k": rrf_k}, "grid_size": len(grid), "top10": top}
    weights, rrf_k = retriever.config.weights, retriever.config.rrf_k

    runs: dict[str, dict[str, list[str]]] = {
        "bm25": {q: to_ids(retriever, ranks[q]["bm25"]) for q in queries},
        "dense": {q: to_ids(retriever, ranks[q]["dense"]) for q in queries},
        "fuzzy (rerank of BM25+dense pool)": {q: to_ids(retriever, ranks[q]["fuzzy"]) for q in queries},
        "hybrid": {q: to_ids(retriever, fuse(ranks[q], weights, rrf_k)) for q in queries},
    }
    methods = {name: {"all": summarise(run_, qrels, queries), "test_half": summarise(run_, qrels, test_q)}
               for name, run_ in runs.items()}
    if fuzzy_sample:
        sample = sorted(random.Random(seed).sample(queries, min(fuzzy_sample, len(queries))))
        full = fuzzy_full(retriever, sample, K_RECALL)
        fruns = {q: to_ids(retriever, full[q]) for q in sample}
        methods["fuzzy (whole catalogue, sample)"] = {"sample": summarise(fruns, qrels, sample)}
        for name in ("bm25", "dense", "hybrid"):
            methods[name]["sample"] = summarise(runs[name], qrels, sample)

    # The hybrid figures above come from fusing cached rankings; check they equal the real search().
    check = random.Random(seed + 1).sample(queries, min(200, len(queries)))
    agree = sum(
        [h.doc.doc_id for h in retriever.search(q, k=K_NDCG).hits] == runs["hybrid"][q][:K_NDCG] for q in check
    )

    lat = latency(retriever, queries, latency_queries, seed=seed)
    # The same with one intra-op thread (for a server running one query per core).
    single = HybridRetriever.load(docs, index_dir, retriever.config.model_copy(update={"threads": 1}))
    lat_single = latency(single, queries, latency_queries, seed=seed)
    del single
    report = {
        "benchmark": "homedepot product search relevance (whole-catalogue ranking)",
        "catalogue_size": len(docs),
        "judged_queries": len(queries),
        "metrics": methods,
        "hybrid_config": {"weights": weights, "rrf_k": rrf_k, "candidate_depth": depth,
                          "typo_correction": retriever.config.typo_correction},
        "hybrid_matches_search_top10": f"{agree}/{len(check)}",
        "latency_hybrid_search": lat,
        "latency_hybrid_search_1_thread": lat_single,
        "index": {
            "type": retriever.manifest["index_type"],
            "open_seconds": round(open_seconds, 2),
            "built_this_run": retriever.built,
            "build_seconds": retriever.manifest["build_seconds"],
            **encode_info,
        },
        "encoder": {"backend": retriever.encoder.backend, "threads": retriever.encoder.threads,
                    "model": retriever.encoder.model_name},
        "tuning": tuning,
        "split": {"seed": seed, "tune_queries": len(tune_q), "test_queries": len(test_q)},
        "machine": machine_info(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "retrieval.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / "retrieval.md").write_text(markdown(report))
    return report


def _encode_timing(cache_dir: Path, retriever: HybridRetriever) -> dict:
    """Time to encode the whole catalogue, measured once and kept beside the embedding cache."""
    path = cache_dir / "encode_timing.json"
    if retriever.built and retriever.manifest.get("encode_seconds") is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"encode_seconds": retriever.manifest["encode_seconds"]}))
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {"encode_seconds": None}


def markdown(report: dict) -> str:
    m = report["metrics"]
    lines = [
        "# Retrieval benchmark: Home Depot search relevance",
        "",
        f"{report['catalogue_size']:,} product titles indexed; {report['judged_queries']:,} judged queries, "
        "each ranked against the whole catalogue. nDCG@10 uses gain = relevance − 1 (unjudged = 0); "
        f"Recall@100 counts products with relevance ≥ {RELEVANT}.",
        "",
        "| method | nDCG@10 (all) | Recall@100 (all) | nDCG@10 (test half) | Recall@100 (test half) |",
        "|---|---|---|---|---|",
    ]
    for name, figs in m.items():
        if "all" not in figs:
            continue
        a, t = figs["all"], figs["test_half"]
        lines.append(f"| {name} | {a['ndcg@10']:.4f} | {a['recall@100']:.4f} | {t['ndcg@10']:.4f} | "
                     f"{t['recall@100']:.4f} |")
    sample_rows = [(n, f["sample"]) for n, f in m.items() if "sample" in f]
    if sample_rows:
        n_sample = sample_rows[0][1]["queries"]
        lines += ["", f"Seeded sample of {n_sample} queries (fuzzy matching alone scores every title, so it "
                  "runs on a sample):", "", "| method | nDCG@10 | Recall@100 |", "|---|---|---|"]
        lines += [f"| {n} | {s['ndcg@10']:.4f} | {s['recall@100']:.4f} |" for n, s in sample_rows]
    cfg, lat, idx = report["hybrid_config"], report["latency_hybrid_search"], report["index"]
    lat1 = report["latency_hybrid_search_1_thread"]
    mach, enc = report["machine"], report["encoder"]
    lines += [
        "",
        f"Hybrid: weighted RRF, weights {cfg['weights']}, k = {cfg['rrf_k']}, candidate depth "
        f"{cfg['candidate_depth']} per method (fused top-10 equals `search()` on "
        f"{report['hybrid_matches_search_top10']} checked queries).",
        "",
        "| index | build (s) | of which catalogue encoding (s) |",
        "|---|---|---|",
        f"| {idx['type']} | {idx['build_seconds']} | {idx.get('encode_seconds')} |",
        "",
        "| hybrid `search()` latency | p50 (ms) | p95 (ms) | p99 (ms) | mean (ms) |",
        "|---|---|---|---|---|",
        f"| {enc['threads']} intra-op threads (default) | {lat['p50_ms']} | {lat['p95_ms']} | {lat['p99_ms']} | "
        f"{lat['mean_ms']} |",
        f"| 1 intra-op thread | {lat1['p50_ms']} | {lat1['p95_ms']} | {lat1['p99_ms']} | {lat1['mean_ms']} |",
        "",
        f"Latency: end-to-end `search(k=10)` (parsing, typo fixing, query encoding with {enc['backend']}, BM25, "
        f"dense, fuzzy, fusion) over {lat['queries']} sequential queries from one client thread, after a "
        f"warm-up on other queries. Machine: {mach['cpu_count']} CPUs, {mach['platform']}. "
        "Build time " + ("measured in this run." if idx["built_this_run"]
                         else "from the index manifest (this run loaded the index)."),
    ]
    if report.get("tuning"):
        tun = report["tuning"]
        lines += ["", f"Weights tuned on {report['split']['tune_queries']} queries (seed "
                  f"{report['split']['seed']}); chosen {tun['chosen']}; 'test half' is the other half."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("evals/results"))
    parser.add_argument("--cache-dir", type=Path, default=None, help="index and embedding cache")
    parser.add_argument("--tune", action="store_true", help="grid-search fusion weights and save them")
    parser.add_argument("--latency-queries", type=int, default=2000)
    parser.add_argument("--fuzzy-sample", type=int, default=1000, help="0 skips fuzzy over the whole catalogue")
    parser.add_argument("--rebuild", action="store_true",
                        help="full rebuild: re-encode the catalogue (refreshing the embedding cache) and re-index")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    report = run(args.data_dir, args.out, args.tune, args.cache_dir, args.latency_queries, args.fuzzy_sample,
                 args.rebuild)
    print(markdown(report))


if __name__ == "__main__":
    main()

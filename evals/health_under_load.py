"""/healthz while adversarial turns run: a real `shopagent serve` (flows only) on loopback, `turns` sessions each
sending long adversarial messages (evals/adversarial_text.py) back to back, and /healthz polled meanwhile. Its
latency p50 / p95 is what a load balancer's health check sees while the server is under that input (issue target:
p95 ≤ 100 ms with 8 such turns)."""

from __future__ import annotations

import statistics
import threading
import time
from itertools import islice
from pathlib import Path

import httpx

from evals.adversarial_text import adversarial_inputs
from evals.live_server import free_port, serve, wait_ready


def measure(home: Path, turns: int = 8, seconds: float = 20.0) -> dict[str, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve(home, port, RATE_LIMIT_PER_MINUTE="100000")
    try:
        wait_ready(base, server)
        stop = threading.Event()
        done: list[tuple[int, float]] = []  # each adversarial turn's status code and seconds
        texts = list(islice(adversarial_inputs(), 64))
        senders = [threading.Thread(target=_send_until, args=(base, texts[i::turns], stop, done), daemon=True)
                   for i in range(turns)]
        for sender in senders:
            sender.start()
        time.sleep(2.0)  # the turns are under way
        latencies = _poll(f"{base}/healthz", seconds)
        stop.set()
        for sender in senders:
            sender.join(timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=30)
    ordered = sorted(latencies)
    return {"healthz_p50_ms": 1000 * statistics.median(ordered),
            "healthz_p95_ms": 1000 * ordered[int(0.95 * (len(ordered) - 1))],
            "healthz_polls": len(ordered), "adversarial_turns_done": len(done),
            "adversarial_turns_answered": sum(code == 200 for code, _ in done),
            "adversarial_turn_max_s": max((seconds for _, seconds in done), default=0.0)}


def _send_until(base: str, texts: list[str], stop: threading.Event, done: list[tuple[int, float]]) -> None:
    with httpx.Client(timeout=120) as client:
        session_id = client.post(f"{base}/api/sessions", json={}).json()["session_id"]
        index = 0
        while not stop.is_set():
            text = texts[index % len(texts)]
            started = time.perf_counter()
            response = client.post(f"{base}/api/sessions/{session_id}/messages", json={"text": text})
            done.append((response.status_code, time.perf_counter() - started))
            index += 1


def _poll(url: str, seconds: float) -> list[float]:
    latencies = []
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            client.get(url).raise_for_status()
            latencies.append(time.perf_counter() - started)
            time.sleep(0.05)
    return latencies


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        print(measure(Path(work)))

"""Abuse limits: request body size and a per-client sliding-window rate limit."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RateLimiter:
    """At most `limit` hits per key in any `window` seconds (in memory: one server process)."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        return self.hit(key, now) == 0

    def hit(self, key: str, now: float | None = None) -> int:
        """Count a hit: 0 when allowed, else the whole seconds until one is (for a Retry-After header)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            wait = self._wait(key, now)
            if not wait:
                self._hits[key].append(now)
            return wait

    def retry_after(self, key: str, now: float | None = None) -> int:
        """Without counting a hit: 0 when one would be allowed, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            return self._wait(key, now)

    def _wait(self, key: str, now: float) -> int:
        hits = self._hits.get(key)
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if hits is not None and not hits:
            del self._hits[key]  # idle keys are dropped: rotating keys cannot grow memory without bound
        if not hits or len(hits) < self.limit:
            return 0
        return max(1, math.ceil(hits[0] + self.window - now))


class BodySizeLimit:
    """Refuse bodies over max_bytes with 413, whatever Content-Length claims: the body (small by definition) is
    read here first, then handed to the app."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()  # after the body: wait for the client to disconnect
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _too_large(send: Send, max_bytes: int) -> None:
    body = f'{{"detail": "request body larger than {max_bytes} bytes"}}'.encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})

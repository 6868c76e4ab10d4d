"""One PostgreSQL LISTEN connection per server process, fanned out to the live streams open in that process.

A widget's live stream (server/routes/live.py) waits on its conversation's wake-up instead of polling: the
listener thread reads the NOTIFYs of agent/live_notify.py and wakes the streams of the session each names, on
their event loop. A lost connection is opened again, and every stream is woken then, to read what it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url

from agent.live_notify import LIVE_CHANNEL

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 1.0


class LiveListener:
    def __init__(self, database_url: str) -> None:
        self._conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = defaultdict(set)
        self._guard = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()  # set while the LISTEN connection is up

    def start(self) -> None:
        """Start listening (idempotent: the first stream of the process starts it)."""
        with self._guard:
            if self._thread is None:
                self._thread = threading.Thread(target=self._listen, name="live-listener", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)  # it checks every second; its connection closes with it

    @contextmanager
    def watching(self, session_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever a live message of the session may have been stored (the caller clears it)."""
        self.start()
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._guard:
            self._waiters[session_id].add(waiter)
        try:
            yield waiter[1]
        finally:
            with self._guard:
                self._waiters[session_id].discard(waiter)
                if not self._waiters[session_id]:
                    del self._waiters[session_id]

    def _listen(self) -> None:
        while not self._stopped.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {LIVE_CHANNEL}")
                    self._wake(None)  # (re)connected: what was stored while nobody listened is read now
                    self.listening.set()
                    while not self._stopped.is_set():
                        for notice in connection.notifies(timeout=1.0):
                            self._wake(notice.payload)
            except psycopg.Error:
                self.listening.clear()
                log.warning("the live-event listener lost its database connection; reconnecting", exc_info=True)
                self._stopped.wait(RECONNECT_SECONDS)

    def _wake(self, session_id: str | None) -> None:
        """Wake the streams of one session (None: all of them)."""
        with self._guard:
            waiters = [w for sid, ws in self._waiters.items() if session_id in (None, sid) for w in ws]
        for loop, woken in waiters:
            with contextlib.suppress(RuntimeError):  # its loop closed (the server stopped): nobody to wake
                loop.call_soon_threadsafe(woken.set)

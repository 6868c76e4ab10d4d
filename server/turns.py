"""Running a customer turn for the API: in a worker thread (its CPU work never runs on the event loop, so
/healthz and other sessions stay responsive), holding one of the limited turn slots, within a time budget.
Only `turn_workers` turns compute at once (the others wait, holding their slots): more threads of Python work
would not finish sooner under the GIL, and would starve the event loop of it.

The turn runs to its end and is stored even if the customer closes the page, but it holds its slot no longer than
the budget: past it the slot is free, the customer (if still there) gets an apology, and the turn stops at its
next step. Slots are released exactly once, whichever comes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator

from agent import locales
from agent.events import Event
from agent.manager import Agent
from agent.replies import say

log = logging.getLogger(__name__)
Queue = asyncio.Queue[Event | None]


class Slot:
    """One taken turn slot; release() is idempotent."""

    def __init__(self, slots: threading.BoundedSemaphore) -> None:
        self._slots = slots
        self._lock = threading.Lock()
        self._held = True

    def release(self) -> bool:
        with self._lock:
            if not self._held:
                return False
            self._held = False
        self._slots.release()
        return True


def take_slot(slots: threading.BoundedSemaphore) -> Slot | None:
    return Slot(slots) if slots.acquire(blocking=False) else None


class AdmissionLine:
    """Turns that find every slot taken wait here, first come first served, up to their patience, instead of
    being refused at once: a 503 sends a client away for its Retry-After (seconds) when a slot frees in a fraction
    of one. Waiting is on the event loop (no thread per waiter); only the first in line polls for a freed slot
    (so it works with any slot storage), the others sleep until they are first."""

    POLL_SECONDS = 0.02

    def __init__(self) -> None:
        self._line: deque[asyncio.Event] = deque()  # each waiter's "you are first" signal

    def __len__(self) -> int:
        return len(self._line)

    async def admit(self, slots: threading.BoundedSemaphore, patience: float) -> Slot | None:
        """A slot, or None when none came to this turn within `patience` seconds."""
        if not self._line and (slot := take_slot(slots)) is not None:
            return slot
        first = asyncio.Event()
        self._line.append(first)
        try:
            async with asyncio.timeout(patience):
                if self._line[0] is not first:
                    await first.wait()
                while (slot := take_slot(slots)) is None:
                    await asyncio.sleep(self.POLL_SECONDS)
                return slot
        except TimeoutError:
            return None
        finally:
            was_first = self._line[0] is first
            self._line.remove(first)
            if was_first and self._line:
                self._line[0].set()


def start_turn(agent: Agent, session_id: str, text: str, slot: Slot, budget: float,
               workers: threading.Semaphore | None = None, *, language: str = locales.DEFAULT,
               arrived: float | None = None, opening_wait_limit: float = float("inf")) -> Queue:
    """Start the turn now (computing once one of `workers` is free); its events arrive on the queue, None last.

    A turn that has waited (in line and for a worker) more than `opening_wait_limit` seconds since it `arrived`
    (time.monotonic()) goes without the model's opening line: under load the customer has waited already, and the
    line would cost the model time every turn behind it waits for too."""
    loop = asyncio.get_running_loop()
    queue: Queue = asyncio.Queue()
    overrun = threading.Event()

    def put(item: Event | None) -> None:
        _on_loop(loop, queue.put_nowait, item)

    def on_budget_spent() -> None:  # on the event loop
        if slot.release():
            overrun.set()
            log.warning("turn in session %s ran past its %.0f s budget", session_id, budget)
            for event in _overrun_events(language):
                queue.put_nowait(event)
            queue.put_nowait(None)

    timer = loop.call_later(budget, on_budget_spent)
    arrived = time.monotonic() if arrived is None else arrived

    def work() -> None:
        ran = False
        try:
            if workers is None or workers.acquire(timeout=budget):
                ran = True
                try:
                    opening = time.monotonic() - arrived <= opening_wait_limit
                    _run(agent, session_id, text, overrun, put, opening)
                finally:
                    if workers is not None:
                        workers.release()
        finally:
            _on_loop(loop, timer.cancel)
            if slot.release():
                if not ran:  # no worker within the budget, and this thread, not the timer, got there first
                    log.warning("turn in session %s found no worker within its %.0f s budget", session_id, budget)
                    for event in _overrun_events(language):
                        put(event)
                put(None)

    threading.Thread(target=work, name=f"turn-{session_id[:8]}", daemon=True).start()
    return queue


def _run(agent: Agent, session_id: str, text: str, overrun: threading.Event,
         put: Callable[[Event | None], None], opening: bool = True) -> None:
    if overrun.is_set():
        return  # the budget ran out while waiting for a worker: the customer was told to try again
    events = _guarded(agent, session_id, text, opening)
    try:
        for event in events:
            if overrun.is_set():
                break  # the customer already has the apology: the turn ends at this step
            put(event)
    finally:
        events.close()


def _on_loop(loop: asyncio.AbstractEventLoop, callback: Callable[..., object], *args: object) -> None:
    with contextlib.suppress(RuntimeError):  # a closed loop (the server stopped): nobody is left to tell
        loop.call_soon_threadsafe(callback, *args)


def _guarded(agent: Agent, session_id: str, text: str, opening: bool = True) -> Iterator[Event]:
    try:
        yield from agent.turn(session_id, text, opening=opening)
    except Exception:
        log.exception("turn crashed in session %s", session_id)
        yield Event("error", {"detail": "The assistant is unavailable right now."})
        yield Event("done")


def _overrun_events(language: str) -> list[Event]:
    with locales.speaking(language):
        apology = say("apology")
    return [Event("error", {"detail": "The assistant took too long to answer."}),
            Event("message", {"text": apology, "repaired": False, "language": language}), Event("done")]

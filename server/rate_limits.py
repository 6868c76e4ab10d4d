"""A per-client sliding-window rate limit kept in the store database, so that it holds across every server process
and replica sharing that database: a client is limited, not a client per process.

One row per key holds the key's recent hits; a hit locks that row (SELECT ... FOR UPDATE on PostgreSQL, the
database-wide write lock on SQLite), so two processes counting the same client at once cannot both take the last
place. Times are wall-clock seconds: a monotonic clock is one machine's, and replicas may run on several.
"""

from __future__ import annotations

import itertools
import math
import time

from sqlalchemy import JSON, Float, String, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from tools.retail.data_model import Base
from tools.store import Store

SWEEP_EVERY = 256  # hits between deletions of idle keys' rows (rotating keys cannot grow the table without bound)


class RateWindow(Base):
    __tablename__ = "rate_windows"

    key: Mapped[str] = mapped_column(String(320), primary_key=True)  # "<limit's name>:<client key>"
    hits: Mapped[list[float]] = mapped_column(JSON, default=list)  # the hits within the window, oldest first
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # when the newest hit leaves the window


class RateLimiter:
    """At most `limit` hits per key in any `window` seconds, counted in the store (all processes together).
    `name` keeps different limits (messages, sign-in failures per account, per address) apart."""

    def __init__(self, store: Store, name: str, limit: int, window: float = 60.0) -> None:
        self.store = store
        self.name = name
        self.limit = limit
        self.window = window
        self._calls = itertools.count(1)
        create_table(store)

    def allow(self, key: str, now: float | None = None) -> bool:
        return self.hit(key, now) == 0

    def hit(self, key: str, now: float | None = None) -> int:
        """Count a hit: 0 when allowed, else the whole seconds until one is (for a Retry-After header)."""
        now = time.time() if now is None else now
        with self.store.transaction() as db:
            row = _locked(db, f"{self.name}:{key}", now)
            hits = self._recent(row.hits, now)
            wait = self._wait(hits, now)
            if not wait:
                hits.append(now)
            row.hits, row.expires_at = hits, hits[-1] + self.window if hits else now
            if next(self._calls) % SWEEP_EVERY == 0:
                db.execute(delete(RateWindow).where(RateWindow.expires_at < now))
        return wait

    def retry_after(self, key: str, now: float | None = None) -> int:
        """Without counting a hit: 0 when one would be allowed, else the seconds to wait."""
        now = time.time() if now is None else now
        with self.store.session() as db:
            hits = db.scalar(select(RateWindow.hits).where(RateWindow.key == f"{self.name}:{key}"))
        return self._wait(self._recent(hits or [], now), now)

    def _recent(self, hits: list[float], now: float) -> list[float]:
        return [at for at in hits if at > now - self.window]

    def _wait(self, hits: list[float], now: float) -> int:
        if len(hits) < self.limit:
            return 0
        return max(1, math.ceil(hits[-self.limit] + self.window - now))


def create_table(store: Store) -> None:
    """The table, if missing (as the other modules create theirs)."""
    Base.metadata.create_all(store.engine, tables=[RateWindow.__table__])


def _locked(db: Session, key: str, now: float) -> RateWindow:
    """The key's row, created if missing, locked until the transaction ends."""
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    db.execute(dialect.insert(RateWindow).values(key=key, hits=[], expires_at=now).on_conflict_do_nothing())
    return db.scalars(select(RateWindow).where(RateWindow.key == key).with_for_update()).one()

"""The store database: one engine per URL, sessions, and the transaction boundary every tool call runs in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tools.retail.data_model import Product
from tools.schema import is_current, migrate


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


class Store:
    """A handle on one store database (any SQLAlchemy URL; SQLite by default)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine: Engine = self._create_engine(url, echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._schema_current = False

    @staticmethod
    def _create_engine(url: str, echo: bool) -> Engine:
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # A server's pooled connections outlive a database restart or failover: each is checked before use.
        pre_ping = not url.startswith("sqlite")
        engine = create_engine(url, echo=echo, pool_pre_ping=pre_ping)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine

    def migrate(self) -> None:
        """Bring the database to the newest schema revision (all of it, in an empty database); idempotent."""
        migrate(self.engine)
        self._schema_current = True

    def ensure_schema(self) -> None:
        """Migrate unless this handle already found the schema current: cheap enough for every service's start."""
        if not self._schema_current and not is_current(self.engine):
            self.migrate()
        self._schema_current = True

    def is_empty(self) -> bool:
        if not inspect(self.engine).has_table("products"):
            return True
        with self.session() as session:
            return session.scalars(select(Product.product_id).limit(1)).first() is None

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed if the block returns, rolled back entirely if it raises."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def rehearsal(self) -> Iterator[Session]:
        """A unit of work that is always rolled back: what a write would do (or why it would refuse), undone."""
        session = self._sessions()
        try:
            session.begin()
            yield session
        finally:
            session.rollback()
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # WAL + full sync: a crash never loses a committed action; readers don't block the writer.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()

"""A lock on one named thing (a conversation) that every process sharing the store database sees.

On PostgreSQL it is a session-level advisory lock held on a connection of its own for as long as the block runs:
a second process asking for the same name waits, and a process that dies releases it with its connection. SQLite
is one server process (`shopagent serve --workers` refuses it), where the caller's thread lock is the whole lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from tools.store import Store

CONVERSATION = 7301  # the advisory-lock namespace (the first key) of conversations; other uses take other numbers


@contextmanager
def held(store: Store, namespace: int, name: str) -> Iterator[None]:
    """Hold the lock on `name` in `namespace` across processes for the block (waits for it while another has it)."""
    if store.engine.dialect.name != "postgresql":
        yield
        return
    with store.engine.connect() as connection:
        key = {"namespace": namespace, "name": name}
        connection.execute(text("SELECT pg_advisory_lock(:namespace, hashtext(:name))"), key)
        connection.commit()  # the lock is the connection's, not a transaction's: nothing stays open meanwhile
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:namespace, hashtext(:name))"), key)
            connection.commit()

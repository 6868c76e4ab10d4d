"""Model fitting and prediction on one thread: the trees are small, and OpenMP threads fighting over a busy
2-core machine made a one-second fit take minutes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def single_threaded() -> Iterator[None]:
    import sklearn.ensemble  # noqa: F401  loads the OpenMP runtime first: a limit only binds loaded libraries
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield

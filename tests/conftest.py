"""Shared fixtures: the demo store (loaded once per session, copied per test), tool runner, data paths."""

from __future__ import annotations

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # weights ship in packages; never reach for a model hub
import shutil
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from retrieval import Document, Encoder, HybridRetriever, RetrieverConfig
from tools.context import IdentityPolicy, Role, StoreContext
from tools.retail.catalog import store_documents
from tools.retail.data_model import Base
from tools.retail.loader import DEMO_STORE_JSON, load_store
from tools.retail.tools import RETAIL_TOOLS
from tools.retail.views import export_store
from tools.runner import ToolRunner
from tools.store import Store, sqlite_url

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR_ENV = "SHOPAGENT_DATA_DIR"
POSTGRES_URL_ENV = "SHOPAGENT_TEST_POSTGRES_URL"  # set by scripts/test.sh, which starts a throwaway cluster
DATABASES = ("sqlite", "postgres")  # every test that takes `store` runs on each


def resolve_data_dir() -> Path:
    """The benchmark/training data directory: $SHOPAGENT_DATA_DIR, else <repo>/../shared/data."""
    configured = os.environ.get(DATA_DIR_ENV)
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = resolve_data_dir()
    if not path.is_dir():
        pytest.skip(f"data directory {path} not found; set {DATA_DIR_ENV} to the shared data folder")
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private SHOPAGENT_HOME (database, index and caches) for the test, with the settings read afresh."""
    from server.config import get_settings

    monkeypatch.setenv("SHOPAGENT_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


# --- the demo store -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_db() -> dict[str, Any]:
    """The bundled demo store's db.json, parsed. Shared by all tests: never mutate it (deepcopy first)."""
    return json.loads(DEMO_STORE_JSON.read_text())


# --- PostgreSQL ----------------------------------------------------------------------------------


class PostgresDatabases:
    """Databases on the test cluster, each test's own: created empty or as a copy of a template, then dropped."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")  # CREATE DATABASE runs outside one
        # Copying a template takes ~0.5 s, mostly disk: the next test's copy is made while this test runs.
        self._copier = ThreadPoolExecutor(max_workers=1)
        self._spare: dict[str, Future[str]] = {}

    def copy_of(self, template: str) -> str:
        """A new database copied from the template (the spare one made in the background, if there is one)."""
        spare = self._spare.pop(template, None)
        url = spare.result() if spare is not None else self.create(template)
        self._spare[template] = self._copier.submit(self.create, template)
        return url

    def drop_template(self, template: str) -> None:
        spare = self._spare.pop(template, None)
        if spare is not None:
            self.drop(spare.result())  # (before the template: a copy in progress holds it)
        self.drop(template)

    def close(self) -> None:
        for template in list(self._spare):
            self.drop_template(template)
        self._copier.shutdown()
        self.admin.dispose()

    def create(self, template: str | None = None) -> str:
        name = f"test_{uuid.uuid4().hex[:16]}"
        copy = f" TEMPLATE {make_url(template).database}" if template else ""
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}{copy}")
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {make_url(url).database} WITH (FORCE)")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    """The PostgreSQL test cluster; without one the PostgreSQL half skips, except in CI, where it fails."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        reason = f"no PostgreSQL to test on: {POSTGRES_URL_ENV} is unset (scripts/test.sh starts a cluster and sets it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    databases = PostgresDatabases(url)
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresDatabases) -> Iterator[str]:
    """A PostgreSQL database with the demo store loaded, built once per session; tests get copies of it."""
    url = postgres.create()
    store = Store(url)
    try:
        load_store(store)
    finally:
        store.dispose()  # a template database must have no connections when it is copied
    yield url
    postgres.drop_template(url)


def new_database(request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    """A new, empty database of the kind the request's parameter names; a PostgreSQL one is dropped after."""
    if request.param == "sqlite":
        yield sqlite_url(folder / "store.db")
        return
    postgres: PostgresDatabases = request.getfixturevalue("postgres")
    url = postgres.create()
    yield url
    postgres.drop(url)


@pytest.fixture(params=DATABASES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database for one test, on SQLite and on PostgreSQL."""
    yield from new_database(request, tmp_path)


@pytest.fixture(scope="module", params=DATABASES)
def module_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new, empty database shared by a module's tests (which build on each other), on each database."""
    yield from new_database(request, tmp_path_factory.mktemp("database"))


@pytest.fixture(scope="session")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the demo store loaded, built once per session; tests work on copies of it."""
    path = tmp_path_factory.mktemp("store-template") / "store.db"
    store = Store(sqlite_url(path))
    try:
        load_store(store)
        with store.engine.connect() as connection:
            # Fold the WAL into the main file so that copying store.db alone copies everything.
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    finally:
        store.dispose()
    return path


@pytest.fixture
def store_path(store_template: Path, tmp_path: Path) -> Path:
    """A fresh, private copy of the demo store's SQLite file."""
    path = tmp_path / "store.db"
    shutil.copy(store_template, path)
    return path


@pytest.fixture(params=DATABASES)
def store_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh demo store's URL for one test: a copy of the template on SQLite, then on PostgreSQL."""
    if request.param == "sqlite":
        yield sqlite_url(request.getfixturevalue("store_path"))
        return
    postgres: PostgresDatabases = request.getfixturevalue("postgres")
    url = postgres.copy_of(request.getfixturevalue("postgres_template"))
    yield url
    postgres.drop(url)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A fresh demo store for one test (on each database)."""
    handle = Store(store_url)
    yield handle
    handle.dispose()


@pytest.fixture
def db_rows() -> Callable[[Store], dict[str, list[tuple[Any, ...]]]]:
    """Every row of every table, raw (audit log and version counters included), in ~30 ms.

    Two equal results mean two identical databases, hence equal exports too: the fast way to assert that a
    call changed nothing at all.
    """

    def take(store: Store) -> dict[str, list[tuple[Any, ...]]]:
        quote = store.engine.dialect.identifier_preparer.quote
        with store.engine.connect() as connection:
            return {
                table.name: connection.exec_driver_sql(
                    f"SELECT * FROM {quote(table.name)} "
                    f"ORDER BY {', '.join(quote(column.name) for column in table.primary_key.columns)}"
                ).fetchall()
                for table in Base.metadata.sorted_tables
            }

    return take


@pytest.fixture
def snapshot() -> Callable[[Store], dict[str, Any]]:
    """Export a whole store in db.json's shape (compare two snapshots to assert what changed)."""

    def take(store: Store) -> dict[str, Any]:
        with store.session() as session:
            return export_store(session)

    return take


# --- tools ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def runner() -> ToolRunner:
    return ToolRunner(RETAIL_TOOLS)


@pytest.fixture
def make_ctx(store: Store) -> Callable[..., StoreContext]:
    """StoreContexts on the test's store: make_ctx(customer_id, role=..., require_confirmation=..., ...).

    Under tau2's benchmark identity policy unless told otherwise: the tool tests check the tau2 tool set, whose
    look-ups by email or name + zip identify (tests/test_identity.py checks the store policy's refusal)."""

    def make(customer_id: str | None = None, *, role: Role = Role.CUSTOMER,
             identity: IdentityPolicy = IdentityPolicy.BENCHMARK, **kwargs: Any) -> StoreContext:
        return StoreContext(store, role=role, customer_id=customer_id, identity=identity, **kwargs)

    return make


# --- search ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def docs(store_template: Path) -> list[Document]:
    """The demo catalogue as retriever documents, converted the way the product does it."""
    store = Store(sqlite_url(store_template))
    try:
        with store.session() as session:
            return store_documents(session)
    finally:
        store.dispose()


@pytest.fixture(scope="session")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Encoder:
    return Encoder(cache_dir=tmp_path_factory.mktemp("onnx"))


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("index")


@pytest.fixture(scope="session")
def retriever(docs: list[Document], encoder: Encoder, index_dir: Path) -> HybridRetriever:
    """The demo catalogue's hybrid index, built once per test session (shared by search and agent tests)."""
    built = HybridRetriever.open(docs, index_dir, RetrieverConfig(), encoder=encoder)
    assert built.built
    return built

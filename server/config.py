"""Configuration from the environment (SHOPAGENT_*) or a .env file; every path and URL has a working default."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPAGENT_", env_file=".env", extra="ignore")

    home: Path = PROJECT_ROOT / ".shopagent"
    """Where the default database, search index and model caches live."""
    database_url: str | None = None
    """Any SQLAlchemy URL; default: a SQLite file in `home`."""
    data_dir: Path = PROJECT_ROOT.parent / "shared" / "data"
    """Benchmark and training data (the layout of shared/data)."""

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'store.db'}"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"


@lru_cache
def get_settings() -> Settings:
    return Settings()

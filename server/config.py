"""Configuration from the environment (SHOPAGENT_*) or a .env file; every path and URL has a working default."""

from __future__ import annotations

import secrets
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

    backend: str = "llama_cpp"
    """Inference backend: llama_cpp (serving), transformers (reference), langchain (a remote chat model), none."""
    model: str = "smollm2-135m"
    """smollm2-135m, gemma3-270m, a path to a .gguf file, or for langchain a spec such as openai:gpt-4o-mini."""
    adapter: str | None = "default"
    """LoRA adapter: "default" (the shipped fine-tuned tool-call adapter), "none" (the base model), or a path."""
    threads: int = 2

    token_secret: str | None = None
    """HMAC secret shared with the storefront for signed customer tokens; default: generated once into `home`."""
    cors_origins: list[str] = ["*"]
    """Storefront origins allowed to embed the widget."""
    max_message_chars: int = 2000
    max_body_bytes: int = 16_384
    rate_limit_per_minute: int = 30
    """Messages and sessions per client address per minute."""
    client_address_header: str | None = None
    """Behind a reverse proxy: the header carrying the customer's address (e.g. x-forwarded-for), for rate limits."""
    max_concurrent_turns: int = 8
    """Turns running at once; more get 503 (the model serialises generation anyway)."""
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'store.db'}"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    def secret(self) -> str:
        """The token secret: configured, or generated once and kept (owner-only) in `home`."""
        if self.token_secret:
            return self.token_secret
        path = self.home / "token_secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_hex(32))
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()

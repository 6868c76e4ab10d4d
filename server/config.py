"""Configuration from the environment (SHOPAGENT_*) or a .env file; every path and URL has a working default."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from tools.context import IdentityPolicy
from tools.mail import SmtpSettings

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
    model_url: str | None = None
    """An OpenAI-compatible chat-completions server (e.g. http://127.0.0.1:8081/v1 from `shopagent model serve`,
    or vLLM / TGI on a GPU machine) that serves `model`, called through the langchain backend (whatever `backend`
    says, unless it is "none"). Unset: the model runs in-process."""
    model_api_key: str | None = None
    """The bearer key that server asks for, if any."""
    model_port: int = 8081
    """Where `shopagent model serve` listens (on `host`)."""

    token_secret: str | None = None
    """HMAC secret shared with the storefront for signed customer tokens; default: generated once into `home`."""
    staff_token_secret: str | None = None
    """HMAC secret for the console's staff tokens, never shared with the storefront; default: generated once into
    `home` (apart from the customer-token secret, so a storefront's secret cannot mint staff tokens)."""
    cors_origins: list[str] = []
    """Other origins allowed to call the API (the storefront's, e.g. ["https://shop.example.com"]); default: none,
    only pages this server serves itself (the demo storefront and the console). "*" allows any."""
    api_docs: bool = False
    """Serve the OpenAPI schema and docs at /openapi.json and /docs."""
    max_message_chars: int = 2000
    max_body_bytes: int = 16_384
    rate_limit_per_minute: int = 30
    """Messages and sessions per client address per minute."""
    trusted_proxies: list[str] = []
    """Addresses or networks (e.g. ["10.0.0.0/8"]) of the reverse proxies in front of the server: only a request
    from one of them has its client address read from `client_address_header`; default: none, the peer address."""
    client_address_header: str = "x-forwarded-for"
    """The header a trusted proxy puts the customer's address in (the last address not itself a trusted proxy)."""
    login_failures_per_account: int = 5
    """Failed console sign-ins per staff id per `login_window_seconds` before that account's sign-in gets 429."""
    login_failures_per_address: int = 20
    """Failed console sign-ins per client address per `login_window_seconds` before that address gets 429."""
    login_window_seconds: int = 900
    max_concurrent_turns: int = 8
    """Turns running at once (the model serialises generation anyway); more wait in line for a slot."""
    turn_queue_seconds: float = 15.0
    """How long a turn waits in line for a slot (first come first served) before it gets 503 with Retry-After."""
    opening_wait_limit_seconds: float = 1.0
    """A turn that waited longer than this for a slot and a worker goes without the model's opening line (the
    grounded reply alone, as when the model fails): under load the line's model time delays every turn behind it."""
    turn_workers: int = 2
    """Turns computing at once (the rest of the admitted turns wait their turn): about the CPU cores to spare."""
    turn_budget_seconds: float = 30.0
    """A turn's time budget: past it the customer gets an apology, the turn stops at its next step and its slot is
    free, whether or not the customer is still connected."""
    retention_days: int = 90
    """Conversations idle for longer are purged (`shopagent privacy purge`, also run when the server starts);
    0 keeps them for ever."""
    retention_action: Literal["anonymise", "delete"] = "anonymise"
    """What the purge does to an expired conversation: mask its personal data and forget its customer (the
    statistics stay), or delete it with its messages and tickets."""
    suggestion_every_turns: int = 3
    """At most one proactive suggestion in this many turns (3: a suggestion, then at least two turns without);
    1 allows one every turn. None ever comes on the turn the customer signs in."""
    risk_rules: Path | None = None
    """The risk-control rules (TOML, the layout of agent/risk/rules.toml); default: the shipped ones. A file with
    no rules holds nothing."""
    host: str = "127.0.0.1"
    port: int = 8000

    identity: IdentityPolicy = IdentityPolicy.STORE
    """What makes a customer who they say they are. store: the storefront's signed token, or a one-time code
    mailed to the account's email and typed into the chat; benchmark: tau2's rule, an email or a name + zip alone
    (for the tau2 tasks; never for a real store)."""
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    mail_from: str = "shop@localhost"
    """The sender of the sign-in code mails."""
    demo: bool = False
    """Demo mode (scripts/run.sh turns it on): "Sign in as a demo customer" on the storefront page, and an
    in-process SMTP sink that catches the sign-in mails (the smtp_* settings are then unused) and shows them at
    /dev/outbox. It lets anyone sign in as any customer: never on a real store."""

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'store.db'}"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    def smtp(self) -> SmtpSettings:
        return SmtpSettings(host=self.smtp_host, port=self.smtp_port, sender=self.mail_from,
                            starttls=self.smtp_starttls, username=self.smtp_username, password=self.smtp_password)

    def secret(self) -> str:
        """The customer-token secret: configured, or generated once and kept (owner-only) in `home`."""
        return self.token_secret or _kept_secret(self.home / "token_secret")

    def staff_secret(self) -> str:
        """The staff-token secret: configured, or generated once into a file of its own in `home`."""
        return self.staff_token_secret or _kept_secret(self.home / "staff_token_secret")


def _kept_secret(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()

"""Console sign-in throttle: failed attempts counted per staff id and per client address, so that neither
guessing one account's password from many addresses nor many accounts' from one address gets far."""

from __future__ import annotations

from server.config import Settings
from server.rate_limits import RateLimiter
from tools.store import Store


class SignInThrottle:
    def __init__(self, store: Store, settings: Settings) -> None:
        window = float(settings.login_window_seconds)
        self.accounts = RateLimiter(store, "sign-in-account", settings.login_failures_per_account, window)
        self.addresses = RateLimiter(store, "sign-in-address", settings.login_failures_per_address, window)

    def wait(self, staff_id: str, address: str) -> int:
        """0 when a sign-in may be tried now, else the seconds to wait."""
        return max(self.accounts.retry_after(staff_id.lower()), self.addresses.retry_after(address))

    def failed(self, staff_id: str, address: str) -> None:
        self.accounts.hit(staff_id.lower())
        self.addresses.hit(address)

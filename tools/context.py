"""Who is calling: the session a tool runs in knows the authenticated customer and what they have confirmed."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from tools.errors import AuthenticationRequired, AuthorizationError, ToolError

if TYPE_CHECKING:
    from retrieval import HybridRetriever
    from tools.sign_in_codes import CodeRules
    from tools.store import Store


class Role(StrEnum):
    CUSTOMER = "customer"  # a shopper, through the chat; sees only their own account
    STAFF = "staff"  # a human service agent working one customer's conversation
    SYSTEM = "system"  # maintenance and evaluation jobs; not reachable from any API route


class IdentityPolicy(StrEnum):
    """What makes a customer who they say they are."""

    STORE = "store"  # proof: the storefront's signed token, or a one-time code mailed to the account's email
    BENCHMARK = "benchmark"  # tau2's rule, for its tasks only: an email, or a name + zip, identifies the customer


class CodeMail(Protocol):
    def send_code(self, to: str, code: str) -> None: ...


VERIFY_FIRST = {
    IdentityPolicy.STORE: "Please verify your identity first: sign in on the store, or give me your account's email "
                          "address and I'll send you a one-time code.",
    IdentityPolicy.BENCHMARK: "Please verify your identity first: your email address, or your name and zip code.",
}


def action_fingerprint(tool_name: str, arguments: dict[str, Any]) -> str:
    return json.dumps([tool_name, arguments], sort_keys=True, default=str)


class StoreContext:
    """State shared by the tool calls of one conversation.

    A plain class, not a dataclass: pydantic treats it as an opaque injected value in tool schemas.
    """

    def __init__(
        self,
        store: Store,
        *,
        role: Role = Role.CUSTOMER,
        customer_id: str | None = None,
        session_id: str | None = None,
        staff_id: str | None = None,
        staff_role: str | None = None,
        retriever: HybridRetriever | None = None,
        require_confirmation: bool = True,
        identity: IdentityPolicy = IdentityPolicy.STORE,
        code_mail: CodeMail | None = None,
        code_rules: CodeRules | None = None,
    ) -> None:
        self.store = store
        self.role = role
        self.customer_id = customer_id
        self.session_id = session_id
        self.staff_id = staff_id
        self.staff_role = staff_role  # "agent" or "supervisor": which risk-held actions this person may run
        self.retriever = retriever
        # Consequential actions run only with an approval recorded for exactly these arguments.
        self.require_confirmation = require_confirmation
        self._approvals: dict[str, str | None] = {}  # fingerprint → the approval's idempotency key
        self._summaries: dict[str, str] = {}  # what the customer was shown for each approval, in their words
        self._db: Session | None = None
        self.identity = identity
        self.code_mail = code_mail  # how a one-time sign-in code reaches the account's mailbox
        self.code_rules = code_rules
        self.after_commit: list[Callable[[], None]] = []  # what a tool does once its transaction is committed

    @property
    def db(self) -> Session:
        if self._db is None:
            raise RuntimeError("store tools run inside ToolRunner.call, which opens their transaction")
        return self._db

    @property
    def actor(self) -> str:
        if self.role is Role.STAFF:
            return f"staff:{self.staff_id}"
        if self.role is Role.SYSTEM:
            return "system"
        return f"customer:{self.customer_id}" if self.customer_id else "customer:unverified"

    def authenticate(self, user_id: str) -> None:
        """Bind the conversation to the customer just identified: one customer per conversation."""
        if self.customer_id is not None and self.customer_id != user_id:
            raise AuthorizationError(
                "This conversation is already verified for another customer; "
                "I can only help one customer per conversation."
            )
        self.customer_id = user_id

    def require_customer(self, user_id: str) -> None:
        """Refuse access to any account but the authenticated customer's."""
        if self.role is Role.SYSTEM:
            return
        if self.customer_id is None:
            raise AuthenticationRequired(VERIFY_FIRST[self.identity])
        if user_id != self.customer_id:
            raise AuthorizationError("I can only access the account and orders of the verified customer.")

    def require_own(self, owner_id: str | None, not_found: str) -> None:
        """Refuse a record (an order) that is not the verified customer's with one reply whether it exists or not,
        so that ids cannot be probed: before identity, the request to identify; after, `not_found` for an unknown
        id and another customer's alike."""
        if self.role is Role.SYSTEM:
            if owner_id is None:
                raise ToolError(not_found)
            return
        if self.customer_id is None:
            raise AuthenticationRequired(VERIFY_FIRST[self.identity])
        if owner_id != self.customer_id:
            raise ToolError(not_found)

    def approve(self, tool_name: str, arguments: dict[str, Any], summary: str = "", *, key: str | None = None) -> None:
        """Record the customer's yes to exactly this call; `key` (the proposal's id) makes it run exactly once
        however often the yes is replayed (tools/receipts.py)."""
        fingerprint = action_fingerprint(tool_name, arguments)
        self._approvals[fingerprint] = key
        self._summaries[fingerprint] = summary

    def approval_key(self, tool_name: str, arguments: dict[str, Any]) -> str | None:
        return self._approvals.get(action_fingerprint(tool_name, arguments))

    def approved_summary(self, tool_name: str, arguments: dict[str, Any]) -> str:
        """The confirmation text the customer approved these arguments with ("" if none was given)."""
        return self._summaries.get(action_fingerprint(tool_name, arguments), "")

    def consume_approval(self, tool_name: str, arguments: dict[str, Any]) -> bool:
        if not self.require_confirmation:
            return True
        fingerprint = action_fingerprint(tool_name, arguments)
        if fingerprint in self._approvals:
            del self._approvals[fingerprint]
            return True
        return False

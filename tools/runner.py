"""Runs one tool call: validates arguments, checks confirmation, and commits or rolls back as one transaction."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from langchain_core.tools import BaseTool, tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from tools import receipts
from tools.context import Role, StoreContext
from tools.errors import ConfirmationRequired, ToolError
from tools.faults import fault_point

log = logging.getLogger(__name__)
HELD = "This change waits for a staff member's approval; nothing was changed yet."


class ToolKind(StrEnum):
    READ = "read"  # reads store data
    WRITE = "write"  # changes the store: needs the customer's explicit confirmation
    GENERIC = "generic"  # touches no store data


def store_tool(kind: ToolKind) -> Callable[[Callable[..., Any]], BaseTool]:
    """Make a LangChain tool whose JSON schema comes from the function's type hints and docstring."""

    def decorate(function: Callable[..., Any]) -> BaseTool:
        # Tools whose only parameter is the injected context have no Args section to parse.
        has_args_section = "Args:" in (function.__doc__ or "")
        made = tool(function, parse_docstring=has_args_section)
        made.metadata = {"kind": kind}
        return made

    return decorate


def tool_kind(store_tool: BaseTool) -> ToolKind:
    return ToolKind((store_tool.metadata or {}).get("kind", ToolKind.READ))


class ActionGuard(Protocol):
    """Reviews a confirmed write inside its transaction, before it runs (agent/risk/: risk control): True holds
    it (recorded in that transaction, not run; the reason is for staff, never the customer); a ToolError
    refuses it (a staff member whose role may not run it)."""

    def hold(self, db: Session, ctx: StoreContext, name: str, arguments: dict[str, Any]) -> bool: ...


@dataclass
class ToolResult:
    name: str
    arguments: dict[str, Any]
    ok: bool
    output: Any = None
    error: str | None = None
    held: bool = False  # a write waiting for a person's approval: nothing changed yet
    replayed: bool = False  # an approved action already done under the same key: its recorded result, not a rerun

    def content(self) -> str:
        """What the model sees: the JSON result, or the error to relay."""
        if not self.ok:
            return f"Error: {self.error}"
        return self.output if isinstance(self.output, str) else json.dumps(self.output)


class ToolRunner:
    def __init__(self, tools: Iterable[BaseTool], guard: ActionGuard | None = None) -> None:
        self.tools = {t.name: t for t in tools}
        self.guard = guard  # risk control on customers' and staff's writes (agent/risk/); None: none

    def schemas(self) -> list[dict[str, Any]]:
        """OpenAI-style function schemas, the injected context excluded."""
        return [convert_to_openai_tool(t) for t in self.tools.values()]

    def kind(self, name: str) -> ToolKind:
        return tool_kind(self.tools[name])

    def validate(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Check a proposed call against the tool's schema; returns the normalised arguments."""
        if name not in self.tools:
            raise ToolError(f"Unknown tool '{name}'.")
        schema = self.tools[name].tool_call_schema
        unknown = set(arguments) - set(schema.model_fields)
        if unknown:
            raise ToolError(f"Unknown argument(s) for {name}: {', '.join(sorted(unknown))}.")
        try:
            return schema.model_validate(arguments).model_dump()
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
            raise ToolError(f"Invalid arguments for {name}: {problems}.") from None

    def call(self, ctx: StoreContext, name: str, arguments: dict[str, Any]) -> ToolResult:
        try:
            clean = self.validate(name, arguments)
        except ToolError as error:
            return ToolResult(name, arguments, ok=False, error=str(error))
        if self.kind(name) is not ToolKind.WRITE:
            return self._execute(ctx, name, clean)
        key = ctx.approval_key(name, clean)
        if not ctx.consume_approval(name, clean):
            error = ConfirmationRequired(
                "This action needs the customer's explicit confirmation of exactly these details first."
            )
            return ToolResult(name, clean, ok=False, error=str(error))
        fault_point("before_effect")
        result = self._execute(ctx, name, clean, key)
        fault_point("effect_committed")
        return result

    def run_within(self, db: Session, ctx: StoreContext, name: str, arguments: dict[str, Any]) -> Any:
        """Run a tool inside the caller's transaction, so that a decision about it and the action commit
        together (an approved held action); raises ToolError when the call is invalid or the policy refuses it."""
        clean = self.validate(name, arguments)
        ctx._db = db
        try:
            return self.tools[name].func(**clean, ctx=ctx)  # type: ignore[misc]
        finally:
            ctx._db = None

    def rehearse(self, ctx: StoreContext, name: str, arguments: dict[str, Any]) -> ToolResult:
        """A write tool run in a transaction that is always rolled back: whether the store's policy would accept
        the call (so a proposal is only made for what a yes can do), with nothing changed and no approval used.
        Risk rules are not rehearsed: a held action is still proposed, and the yes tells the customer of the hold."""
        try:
            clean = self.validate(name, arguments)
        except ToolError as error:
            return ToolResult(name, arguments, ok=False, error=str(error))
        return self._execute(ctx, name, clean, rehearsal=True)

    def _execute(self, ctx: StoreContext, name: str, arguments: dict[str, Any], key: str | None = None, *,
                 rehearsal: bool = False) -> ToolResult:
        """The call in one transaction (a rehearsal: always rolled back); with an idempotency key, the action and
        its receipt commit together, and a key already done returns the recorded result without acting again."""
        try:
            with (ctx.store.rehearsal() if rehearsal else ctx.store.transaction()) as session:
                ctx._db = session
                done = receipts.recorded(session, key, name) if key else None
                if done is not None:
                    return ToolResult(name, arguments, ok=True, output=done, replayed=True)
                if not rehearsal and self._held(session, ctx, name, arguments):
                    return ToolResult(name, arguments, ok=False, held=True, error=HELD)
                output = self.tools[name].func(**arguments, ctx=ctx)  # type: ignore[misc]
                if key:
                    receipts.record(session, key, name)
            for effect in [] if rehearsal else ctx.after_commit:  # e.g. the mail with a code, once it is stored
                effect()
            return ToolResult(name, arguments, ok=True, output=output)
        except (IntegrityError, OperationalError):
            # With a key: another worker may have committed the same approval meanwhile (its receipt won).
            log.exception("tool %s hit a conflicting write", name)
            return self._replay(ctx, name, arguments, key)
        except ToolError as error:
            return ToolResult(name, arguments, ok=False, error=str(error))
        except StaleDataError:
            message = "The order was changed by someone else meanwhile; nothing was changed. Please try again."
            return ToolResult(name, arguments, ok=False, error=message)
        except Exception:
            # A store outage or a bug in a tool: the transaction is rolled back and the conversation goes on.
            log.exception("tool %s failed", name)
            message = "The store could not complete this right now; nothing was changed."
            return ToolResult(name, arguments, ok=False, error=message)
        finally:
            ctx._db = None
            ctx.after_commit.clear()

    def _replay(self, ctx: StoreContext, name: str, arguments: dict[str, Any], key: str | None) -> ToolResult:
        """After a conflicting write: the result recorded under the key if another worker did the action."""
        done = None
        if key:
            with ctx.store.session() as session:
                done = receipts.recorded(session, key, name)
        if done is None:  # nothing was changed
            message = "The store could not complete this right now; nothing was changed."
            return ToolResult(name, arguments, ok=False, error=message)
        return ToolResult(name, arguments, ok=True, output=done, replayed=True)

    def _held(self, session: Session, ctx: StoreContext, name: str, arguments: dict[str, Any]) -> bool:
        """A write the guard holds for a person (maintenance and evaluation jobs are not reviewed)."""
        if self.guard is None or ctx.role is Role.SYSTEM or self.kind(name) is not ToolKind.WRITE:
            return False
        return self.guard.hold(session, ctx, name, arguments)

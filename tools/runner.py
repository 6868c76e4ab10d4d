"""Runs one tool call: validates arguments, checks confirmation, and commits or rolls back as one transaction."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from langchain_core.tools import BaseTool, tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ValidationError
from sqlalchemy.orm.exc import StaleDataError

from tools.context import StoreContext
from tools.errors import ConfirmationRequired, ToolError

log = logging.getLogger(__name__)


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


@dataclass
class ToolResult:
    name: str
    arguments: dict[str, Any]
    ok: bool
    output: Any = None
    error: str | None = None

    def content(self) -> str:
        """What the model sees: the JSON result, or the error to relay."""
        if not self.ok:
            return f"Error: {self.error}"
        return self.output if isinstance(self.output, str) else json.dumps(self.output)


class ToolRunner:
    def __init__(self, tools: Iterable[BaseTool]) -> None:
        self.tools = {t.name: t for t in tools}

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
        if self.kind(name) is ToolKind.WRITE and not ctx.consume_approval(name, clean):
            error = ConfirmationRequired(
                "This action needs the customer's explicit confirmation of exactly these details first."
            )
            return ToolResult(name, clean, ok=False, error=str(error))
        return self._execute(ctx, name, clean)

    def _execute(self, ctx: StoreContext, name: str, arguments: dict[str, Any]) -> ToolResult:
        try:
            with ctx.store.transaction() as session:
                ctx._db = session
                output = self.tools[name].func(**arguments, ctx=ctx)  # type: ignore[misc]
            for effect in ctx.after_commit:  # e.g. the mail with a code, only once the code is stored
                effect()
            return ToolResult(name, arguments, ok=True, output=output)
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

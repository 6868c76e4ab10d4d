"""shopagent's store: the database, the store tools and the rules they enforce."""

from tools.context import Role, StoreContext
from tools.errors import AuthenticationRequired, AuthorizationError, ConfirmationRequired, ToolError
from tools.runner import ToolKind, ToolResult, ToolRunner, store_tool
from tools.store import Store

__all__ = [
    "AuthenticationRequired",
    "AuthorizationError",
    "ConfirmationRequired",
    "Role",
    "Store",
    "StoreContext",
    "ToolError",
    "ToolKind",
    "ToolResult",
    "ToolRunner",
    "store_tool",
]

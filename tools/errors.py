"""Errors a tool raises to refuse a call. Their messages are written to be relayed to the customer as-is."""


class ToolError(Exception):
    """A call that breaks a rule or names something that doesn't exist; the database is left unchanged."""


class AuthenticationRequired(ToolError):
    pass


class AuthorizationError(ToolError):
    pass


class ConfirmationRequired(ToolError):
    pass

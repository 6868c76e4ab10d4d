"""Log records masked before any handler sees them: the message with its arguments, the traceback, the stack.

A filter on a logger only sees records made by that very logger (not its children's), and a filter on a handler
only that handler's, so both leave gaps: a handler added later (uvicorn's, a test's) would print in clear. The
masking is therefore done where records are made, by the log record factory, for every logger and every handler.
`MaskingFilter` does the same job for a handler or logger that wants it explicitly.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from agent.privacy.mask import mask_text

_MARK = "_shopagent_masked"
_install_lock = threading.Lock()
_installed = False


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask a record in place (once): its formatted message, traceback and stack text."""
    if getattr(record, _MARK, False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # arguments that do not fit the format: keep what there is, masked
        message = f"{record.msg} {record.args}"
    record.msg, record.args = mask_text(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
    if record.exc_text:
        # Handlers that render the exception object themselves (rich's, Sentry's) would show its text in clear.
        record.exc_info = None
    if record.stack_info:
        record.stack_info = mask_text(record.stack_info)
    setattr(record, _MARK, True)
    return record


class MaskingFilter(logging.Filter):
    """Masks every record it sees; passes them all."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def install_log_masking() -> None:
    """Mask every log record of the process from now on (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        make_record = logging.getLogRecordFactory()

        def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return mask_record(make_record(*args, **kwargs))

        logging.setLogRecordFactory(masked_record)
        _installed = True

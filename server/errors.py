"""Error responses that never echo the request: a validation error names the field and what is wrong with it, not
the customer's input (a 2,000-character message, or a NaN that JSON cannot even encode, which made it a 500)."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


async def validation_failed(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    detail = [{"loc": [str(part) for part in item.get("loc", ())], "msg": str(item.get("msg", "invalid")),
               "type": str(item.get("type", "value_error"))} for item in error.errors()]
    return JSONResponse(status_code=422, content={"detail": detail})


async def session_not_found(request: Request, error: Exception) -> JSONResponse:
    """Every route that takes a session id answers 404 for an unknown one."""
    return JSONResponse(status_code=404, content={"detail": "No such chat session."})

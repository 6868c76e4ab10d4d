"""Dependencies of the console routes: the console service and the signed-in staff user (staff tokens only)."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from agent.escalation.console import ConsoleService
from agent.escalation.tables import StaffUser
from server.staff_tokens import verify_staff_token
from server.tokens import InvalidToken

_lock = threading.Lock()


def get_console(request: Request) -> ConsoleService:
    with _lock:
        console = getattr(request.app.state, "console", None)
        if console is None:
            console = request.app.state.console = ConsoleService(request.app.state.agent)
    return console


def current_staff(request: Request, authorization: Annotated[str | None, Header()] = None) -> StaffUser:
    """The staff user of a valid `Authorization: Bearer <staff token>`; 401 for anything else, customer tokens
    included."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(status_code=401, detail="Sign in to the console.", headers={"WWW-Authenticate": "Bearer"})
    try:
        staff_id = verify_staff_token(request.app.state.settings.staff_secret(), token.strip())
    except InvalidToken as error:
        raise HTTPException(status_code=401, detail=f"Invalid staff token: {error}.",
                            headers={"WWW-Authenticate": "Bearer"}) from None
    staff = get_console(request).staff.get(staff_id)
    if staff is None:
        raise HTTPException(status_code=401, detail="Unknown or disabled staff user.")
    return staff


ConsoleDep = Annotated[ConsoleService, Depends(get_console)]
StaffDep = Annotated[StaffUser, Depends(current_staff)]

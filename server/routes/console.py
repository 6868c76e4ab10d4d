"""The copilot console for human agents: sign-in, the queue of handoffs, a ticket's context and suggestions,
replies to the customer, approved actions, hand-back, ticket assignment and held actions. Every /api/console
route but login needs a staff token; what the staff member's role allows is checked here, on the server."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from agent.escalation.tickets import StaffForbidden, TicketError
from server.client_address import client_address
from server.console_deps import ConsoleDep, StaffDep
from server.deps import RateLimited, SettingsDep, too_many
from server.routes.sessions import MessageIn  # a person's reply is checked like a customer's message
from server.routes.widget import STATIC
from server.sign_in_throttle import SignInThrottle
from server.staff_tokens import sign_staff_token

router = APIRouter(prefix="/api/console", tags=["console"])
pages = APIRouter(include_in_schema=False)


class Login(BaseModel):
    staff_id: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Action(BaseModel):
    tool: str = Field(min_length=1, max_length=64)
    arguments: dict[str, Any] = Field(default_factory=dict)


class StaffReply(MessageIn):
    draft: str | None = Field(default=None, max_length=2000, description="The copilot's draft the reply started from")


class Assignment(BaseModel):
    staff_id: str = Field(min_length=1, max_length=64)


@router.post("/login", dependencies=[RateLimited])
def login(body: Login, console: ConsoleDep, settings: SettingsDep, request: Request) -> dict[str, str]:
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    address = client_address(request)
    wait = throttle.wait(body.staff_id, address)
    if wait:  # checked before the password, so a throttled guess learns nothing
        raise too_many(wait)
    staff = console.staff.authenticate(body.staff_id, body.password)
    if staff is None:
        throttle.failed(body.staff_id, address)
        raise HTTPException(status_code=401, detail="Wrong staff id or password.")
    return {"token": sign_staff_token(settings.staff_secret(), staff.id), "staff_id": staff.id,
            "display_name": staff.display_name, "role": staff.role}


@router.get("/me")
def me(staff: StaffDep) -> dict[str, str]:
    return {"staff_id": staff.id, "display_name": staff.display_name, "role": staff.role}


@router.get("/staff")
def staff_list(staff: StaffDep, console: ConsoleDep) -> dict[str, Any]:
    """Whom a supervisor can assign tickets to."""
    return _guard(lambda: {"staff": console.colleagues(staff)})


@router.get("/tickets")
def queue(staff: StaffDep, console: ConsoleDep) -> dict[str, Any]:
    return {"tickets": console.queue(staff)}


@router.get("/tickets/{ticket_id}")
def ticket(ticket_id: int, staff: StaffDep, console: ConsoleDep) -> dict[str, Any]:
    return _guard(lambda: console.view(ticket_id, staff))


@router.post("/tickets/{ticket_id}/claim")
def claim(ticket_id: int, staff: StaffDep, console: ConsoleDep) -> dict[str, Any]:
    return _guard(lambda: console.claim(ticket_id, staff).to_json())


@router.post("/tickets/{ticket_id}/assign")
def assign(ticket_id: int, body: Assignment, staff: StaffDep, console: ConsoleDep) -> dict[str, Any]:
    return _guard(lambda: console.assign(ticket_id, staff, body.staff_id).to_json())


@router.post("/tickets/{ticket_id}/take")
def take(ticket_id: int, staff: StaffDep, console: ConsoleDep) -> dict[str, Any]:
    return _guard(lambda: console.take(ticket_id, staff).to_json())


@router.post("/tickets/{ticket_id}/messages", status_code=201)
def reply(ticket_id: int, body: StaffReply, staff: StaffDep, console: ConsoleDep) -> dict[str, Any]:
    message = _guard(lambda: console.reply(ticket_id, staff, body.text, body.draft))
    return {"id": message.id, "text": message.text}


@router.post("/tickets/{ticket_id}/actions")
def act(ticket_id: int, body: Action, staff: StaffDep, console: ConsoleDep) -> dict[str, Any]:
    result = _guard(lambda: console.act(ticket_id, staff, body.tool, body.arguments))
    return {"tool": result.name, "arguments": result.arguments, "ok": result.ok, "output": result.output,
            "error": result.error}


@router.post("/tickets/{ticket_id}/handback")
def hand_back(ticket_id: int, staff: StaffDep, console: ConsoleDep) -> dict[str, Any]:
    return _guard(lambda: console.hand_back(ticket_id, staff).to_json())


@router.post("/tickets/{ticket_id}/resolve")
def resolve(ticket_id: int, staff: StaffDep, console: ConsoleDep) -> dict[str, Any]:
    return _guard(lambda: console.hand_back(ticket_id, staff, resolve=True).to_json())


@router.get("/holds")
def holds(staff: StaffDep, console: ConsoleDep) -> dict[str, Any]:
    return {"holds": console.holds.waiting(staff)}


@router.post("/holds/{hold_id}/approve")
def approve_hold(hold_id: int, staff: StaffDep, console: ConsoleDep) -> dict[str, Any]:
    return _guard(lambda: console.holds.approve(hold_id, staff).to_json())


@router.post("/holds/{hold_id}/reject")
def reject_hold(hold_id: int, staff: StaffDep, console: ConsoleDep) -> dict[str, Any]:
    return _guard(lambda: console.holds.reject(hold_id, staff).to_json())


def _guard(action):  # type: ignore[no-untyped-def]
    try:
        return action()
    except LookupError as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    except StaffForbidden as error:
        raise HTTPException(status_code=403, detail=str(error)) from None
    except TicketError as error:
        raise HTTPException(status_code=409, detail=str(error)) from None


@pages.get("/console")
def console_page() -> FileResponse:
    return FileResponse(STATIC / "console.html", headers={"Cache-Control": "no-cache"})


@pages.get("/console.js")
def console_script() -> FileResponse:
    return FileResponse(STATIC / "console.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@pages.get("/console.css")
def console_style() -> FileResponse:
    return FileResponse(STATIC / "console.css", media_type="text/css", headers={"Cache-Control": "no-cache"})

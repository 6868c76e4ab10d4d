"""Demo mode only (SHOPAGENT_DEMO): sign in as a demo customer from the storefront page, and read the mails the
local SMTP sink caught (the one-time sign-in codes) at /dev/outbox. Everything here answers 404 otherwise."""

from __future__ import annotations

import html
import random
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.deps import AgentDep, RateLimited, SettingsDep
from server.dev_mail import CaughtMail, DevOutbox
from server.tokens import sign_customer_token
from tools.retail.data_model import Order, User

TOKEN_TTL_SECONDS = 3600


def demo_only(settings: SettingsDep) -> None:
    if not settings.demo:
        raise HTTPException(status_code=404, detail="Not Found")


def the_outbox(request: Request, _: Annotated[None, Depends(demo_only)]) -> DevOutbox:
    outbox: DevOutbox | None = request.app.state.outbox
    if outbox is None:
        raise HTTPException(status_code=404, detail="Not Found")
    return outbox


router = APIRouter(prefix="/api/demo", tags=["demo"], dependencies=[Depends(demo_only)])
pages = APIRouter(include_in_schema=False)


class DemoSignIn(BaseModel):
    customer_id: str | None = Field(default=None, max_length=128, description="A demo customer; default: any one")


class DemoCustomer(BaseModel):
    token: str
    customer_id: str
    name: str


@router.get("")
def demo_info(request: Request) -> dict[str, str | None]:
    """What the storefront page offers in demo mode."""
    return {"sign_in": "/api/demo/sign-in", "outbox": "/dev/outbox" if request.app.state.outbox else None}


@router.post("/sign-in", response_model=DemoCustomer, dependencies=[RateLimited])
def demo_sign_in(body: DemoSignIn, agent: AgentDep, settings: SettingsDep) -> DemoCustomer:
    """A signed customer token, as a storefront mints one for a logged-in customer."""
    with agent.store.session() as session:
        user = session.get(User, body.customer_id) if body.customer_id else _any_customer_with_orders(session)
        if user is None:
            raise HTTPException(status_code=404, detail="No such demo customer.")
        customer_id, name = user.user_id, f"{user.first_name} {user.last_name}"
    token = sign_customer_token(settings.secret(), customer_id, ttl_seconds=TOKEN_TTL_SECONDS)
    return DemoCustomer(token=token, customer_id=customer_id, name=name)


def _any_customer_with_orders(session: Session) -> User | None:
    owners = list(session.scalars(select(Order.user_id).distinct()))
    return session.get(User, random.choice(owners)) if owners else None


@pages.get("/dev/outbox", response_class=HTMLResponse)
def outbox_page(outbox: Annotated[DevOutbox, Depends(the_outbox)]) -> HTMLResponse:
    mails = outbox.mails()
    items = "\n".join(_mail_html(mail) for mail in mails) or "<p>No mail yet. Ask the assistant for a sign-in code.</p>"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo outbox</title>
<link rel="stylesheet" href="/storefront.css"></head>
<body><header><h1>Demo outbox</h1>
<p>The mails the demo store sent (caught by a local SMTP sink; nothing leaves this machine). Newest first.</p>
<p><a href="/">Back to the storefront</a></p></header>
<main>{items}</main></body></html>"""
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


def _mail_html(mail: CaughtMail) -> str:
    when = mail.received_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    return (f'<article class="mail"><h2>{html.escape(mail.subject)}</h2>'
            f"<p>To: {html.escape(mail.to)} · {when}</p><pre>{html.escape(mail.body)}</pre></article>")

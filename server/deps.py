"""Dependencies injected into the routes: the agent, the settings and the rate limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from agent.manager import Agent
from server.config import Settings
from server.limits import RateLimiter


def get_agent(request: Request) -> Agent:
    return request.app.state.agent


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def rate_limited(request: Request) -> None:
    limiter: RateLimiter = request.app.state.rate_limiter
    header = request.app.state.settings.client_address_header
    forwarded = request.headers.get(header, "") if header else ""
    # The proxy appends the address it saw last: the first entry is the customer's own claim, the last is trusted.
    client = forwarded.split(",")[-1].strip() or (request.client.host if request.client else "unknown")
    if not limiter.allow(client):
        raise HTTPException(status_code=429, detail="Too many requests: please wait a moment and try again.")


AgentDep = Annotated[Agent, Depends(get_agent)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
RateLimited = Depends(rate_limited)

"""Dependencies injected into the routes: the agent, the settings and the rate limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from agent.manager import Agent
from server.client_address import client_address
from server.config import Settings
from server.rate_limits import RateLimiter


def get_agent(request: Request) -> Agent:
    return request.app.state.agent


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def too_many(wait: int) -> HTTPException:
    """429 with the seconds to wait, as Retry-After asks clients to."""
    return HTTPException(status_code=429, detail="Too many requests: please wait a moment and try again.",
                         headers={"Retry-After": str(wait)})


def rate_limited(request: Request) -> None:
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = limiter.hit(client_address(request))
    if wait:
        raise too_many(wait)


AgentDep = Annotated[Agent, Depends(get_agent)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
RateLimited = Depends(rate_limited)

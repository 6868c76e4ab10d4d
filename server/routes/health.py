"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from server.deps import AgentDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(agent: AgentDep) -> dict[str, Any]:
    store_ok = agent.store_ok()
    return {
        "status": "ok" if store_ok else "degraded",
        "model": agent.model.name if agent.model is not None else "none",
        "store": "ok" if store_ok else "unavailable",
        "search": "ok" if agent.retriever is not None else "unavailable",
    }

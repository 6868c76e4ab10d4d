"""The storefront demo page and the embeddable widget's files (plain JS and CSS, no build step)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from agent import locales

STATIC = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False)


@router.get("/")
def demo_page() -> FileResponse:
    return FileResponse(STATIC / "index.html")


@router.get("/storefront.css")
def demo_page_style() -> FileResponse:
    return FileResponse(STATIC / "storefront.css", media_type="text/css", headers={"Cache-Control": "no-cache"})


@router.get("/storefront.js")
def demo_page_script() -> FileResponse:
    return FileResponse(STATIC / "storefront.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.get("/demo-account.js")
def demo_account_script() -> FileResponse:
    return FileResponse(STATIC / "demo-account.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.get("/widget.js")
def widget_script() -> FileResponse:
    return FileResponse(STATIC / "widget.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.get("/widget.css")
def widget_style() -> FileResponse:
    return FileResponse(STATIC / "widget.css", media_type="text/css", headers={"Cache-Control": "no-cache"})


@router.get("/widget/strings.json")
def widget_strings() -> dict[str, Any]:
    """The widget's own words per locale (agent/locales/<locale>/widget.toml)."""
    return {locale: locales.entries("widget", locale) for locale in locales.LOCALES}

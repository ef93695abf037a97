"""Shared page plumbing: templates, the signed-in key, CSRF tokens and flash messages."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from api import auth
from store.tables import ApiKey

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
PAGE_PERMISSION = "orders:read"
STATUS_TONES = {
    "draft": "muted",
    "expired": "muted",
    "received": "info",
    "in_fulfillment": "info",
    "shipped": "info",
    "backordered": "warn",
    "awaiting_payment": "warn",
    "on_hold": "warn",
    "partially_returned": "warn",
    "delivered": "ok",
    "completed": "ok",
    "returned": "muted",
    "cancelled": "muted",
    "failed": "bad",
}


def _when(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        value = parsed
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _money(value: Any, currency: str = "") -> str:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{amount:,} {currency}".strip()


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _detail(detail: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}: {v if isinstance(v, str) else json.dumps(v, default=str)}" for k, v in detail.items()
    )


templates.env.filters.update(when=_when, money=_money, pct=_pct, detail=_detail)
templates.env.globals.update(status_tone=lambda s: STATUS_TONES.get(s, "muted"))


def login_redirect(request: Request, error: str = "") -> HTTPException:
    """A 303 to the sign-in page that comes back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={quote(target, safe='')}" + (f"&error={error}" if error else "")
    return HTTPException(status_code=303, detail="sign in first", headers={"Location": location})


async def page_key(request: Request) -> ApiKey:
    """The signed-in key of a page request; redirects to /login when there is none.

    Channel keys (no `orders:read`) are refused here, so they can never see a page.
    """
    token = request.session.get("api_key", "") if "session" in request.scope else ""
    if not token:
        raise login_redirect(request)
    async with request.app.state.sessions() as session:
        key = await auth.find(session, token)
    if key is None or PAGE_PERMISSION not in auth.PERMISSIONS.get(key.role, frozenset()):
        request.session.clear()
        raise login_redirect(request, "revoked" if key is None else "forbidden")
    return key


PageKey = Annotated[ApiKey, Depends(page_key)]


def can(key: ApiKey, permission: str) -> bool:
    """Whether the key's role grants a permission (the same table /v1 checks)."""
    return permission in auth.PERMISSIONS.get(key.role, frozenset())


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return str(token)


def check_csrf(request: Request, submitted: str) -> None:
    """Refuse a form that did not come from one of our pages."""
    expected = request.session.get("csrf", "")
    if not expected or not secrets.compare_digest(str(expected), submitted or ""):
        raise HTTPException(status_code=403, detail="the form expired; reload the page")


def flash(request: Request, kind: str, text: str) -> None:
    """A message shown once on the next page."""
    request.session["flash"] = {"kind": kind, "text": text}


def render(
    request: Request, key: ApiKey, template: str, status_code: int = 200, **context: Any
) -> Response:
    """Render a page with what every page shows (user role, flash, CSRF token)."""
    message = request.session.pop("flash", None) if "session" in request.scope else None
    return templates.TemplateResponse(
        request,
        template,
        {
            "key": key,
            "flash": message,
            "csrf": csrf_token(request),
            "can_act": can(key, "orders:act"),
            "nav": template.removesuffix(".html"),
            **context,
        },
        status_code=status_code,
    )

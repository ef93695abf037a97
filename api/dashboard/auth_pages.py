"""Sign-in with an API key (the form's one field is `api_key`), and sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import auth
from api.dashboard.web import PAGE_PERMISSION, check_csrf, templates

router = APIRouter(include_in_schema=False)
ERRORS = {
    "invalid": "That API key is not valid or has been revoked.",
    "forbidden": "This key's role cannot use the dashboard (channel keys only create orders).",
    "revoked": "Your key was revoked; sign in with another.",
    "sessions": "Sign-in is unavailable: the dashboard's session middleware is not installed.",
}


def _safe_next(target: str) -> str:
    """Only same-site paths: an absolute or protocol-relative URL would be an open redirect."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _login_page(request: Request, error: str, next_: str, status_code: int = 200) -> Response:
    return templates.TemplateResponse(
        request,
        "login.html",
        {"error": ERRORS.get(error, error), "next": _safe_next(next_)},
        status_code=status_code,
    )


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/", error: str = "") -> Response:
    """The sign-in form."""
    if "session" not in request.scope:
        return _login_page(request, "sessions", next, 503)
    return _login_page(request, error, next)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request, api_key: Annotated[str, Form(max_length=500)] = "", next: str = "/"
) -> Response:
    """Check the key like the API does, then keep it in the signed session cookie."""
    if "session" not in request.scope:
        return _login_page(request, "sessions", next, 503)
    async with request.app.state.sessions() as session:
        key = await auth.find(session, api_key.strip()) if api_key.strip() else None
    if key is None:
        return _login_page(request, "invalid", next, 401)
    if PAGE_PERMISSION not in auth.PERMISSIONS.get(key.role, frozenset()):
        return _login_page(request, "forbidden", next, 403)
    request.session.clear()
    request.session["api_key"] = api_key.strip()
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    """Forget the session."""
    if "session" in request.scope:
        check_csrf(request, csrf)
        request.session.clear()
    return RedirectResponse("/login", status_code=303)

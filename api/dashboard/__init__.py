"""The ops dashboard: server-rendered pages over the same services and permissions as /v1.

Why Jinja2 templates and a little vanilla JS rather than a single-page app: the dashboard must
work from the wheel with no internet and no npm build; forms post and pages render without JS
(so every action works in any browser, and tests exercise the real HTTP paths); a small script
only adds live status counts and inline action results. Jinja2 ships with FastAPI's stack and
autoescapes every value, which matters because order data comes from outside (channels).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from config.settings import Settings

SESSION_COOKIE = "oms_session"


def install(app: FastAPI, settings: Settings) -> None:
    """Add the signed session cookie the dashboard signs in with (call before the app starts)."""
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret.get_secret_value(),
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_s,
        same_site="lax",  # no cross-site POSTs carry the cookie: the first CSRF defence
        https_only=settings.session_https_only,
    )

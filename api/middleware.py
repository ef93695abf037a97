"""HTTP middleware installed on the app (limits and headers are added by the security feature)."""

from __future__ import annotations

from fastapi import FastAPI

from config.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Install the OMS middleware stack on `app`."""
    del app, settings

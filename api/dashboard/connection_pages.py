"""The connections page: each connected shop's health and its unmapped listings."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.dashboard.web import PageKey, can, render
from api.deps import SessionDep
from services import connections

router = APIRouter(include_in_schema=False)


@router.get("/connections", response_class=HTMLResponse)
async def connections_page(request: Request, key: PageKey, session: SessionDep) -> Response:
    """Connected shops: last sync, pull and push, the last error, stock lag, dead letters."""
    if not can(key, "connections:read"):
        return render(request, key, "not_found.html", 403, message="connections:read required")
    rows = []
    for row in await connections.list_connections(session):
        unmapped = await connections.list_listings(session, row.connection_id, mapped=False)
        rows.append((row, await connections.health(session, row), unmapped))
    return render(request, key, "connections.html", rows=rows)

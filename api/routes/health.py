"""`/healthz` and `/metrics`."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

router = APIRouter(tags=["operations"])


async def _database_ok(request: Request) -> str | None:
    try:
        async with request.app.state.sessions() as session:
            await asyncio.wait_for(session.execute(text("SELECT 1")), timeout=3)
        return None
    except Exception as err:  # any failure means "not reachable"; say which
        return f"{type(err).__name__}: {err}"[:300]


async def _temporal_ok(request: Request) -> str | None:
    try:
        client = await request.app.state.temporal.get()
        if client is None:
            return "not connected"
        await asyncio.wait_for(client.service_client.check_health(), timeout=3)
        return None
    except Exception as err:
        return f"{type(err).__name__}: {err}"[:300]


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    """200 when the database and Temporal answer; 503 naming the one that does not."""
    db_error, temporal_error = await asyncio.gather(_database_ok(request), _temporal_ok(request))
    checks = {
        "database": {"ok": db_error is None, **({"error": db_error} if db_error else {})},
        "temporal": {
            "ok": temporal_error is None,
            **({"error": temporal_error} if temporal_error else {}),
        },
    }
    healthy = db_error is None and temporal_error is None
    return JSONResponse(
        status_code=200 if healthy else 503,
        content={"status": "ok" if healthy else "unavailable", "checks": checks},
    )


@router.get("/metrics")
async def metrics() -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/livez")
async def livez() -> dict[str, str]:
    """The process is alive (liveness probes: no dependency checks, so an outage restarts none)."""
    return {"status": "ok"}

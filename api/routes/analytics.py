"""`GET /v1/analytics/kpis`: the fulfilment scorecard of a time window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import SessionDep, SettingsDep, require
from api.errors import ApiError
from config.settings import Settings
from domain import kpis
from store import analytics

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])
MAX_WINDOW = timedelta(days=366)


def promise_hours(settings: Settings) -> dict[str, float]:
    """Delivery promises in wall-clock hours (business hours times the time scale)."""
    return {k: v * settings.time_scale for k, v in kpis.PROMISE_HOURS.items()}


async def compute_kpis(
    session: AsyncSession, settings: Settings, since: datetime, until: datetime
) -> kpis.Kpis:
    """KPIs of orders created in [since, until) and of the current stock."""
    if until <= since:
        raise ApiError(422, "validation_error", "must be after `since`", "until")
    if until - since > MAX_WINDOW:
        raise ApiError(422, "validation_error", "window is longer than 366 days", "since")
    orders = await analytics.order_facts(session, since, until)
    stock = await analytics.stock_facts(session)
    return kpis.compute(orders, stock, since, until, promise_hours(settings))


def window(days: int, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """[since, until) in UTC: explicit bounds, else the last `days` days up to now."""
    end = (until or datetime.now(UTC)).astimezone(UTC)
    start = since.astimezone(UTC) if since else end - timedelta(days=days)
    return start, end


@router.get("/kpis", response_model=kpis.Kpis, dependencies=[Depends(require("analytics:read"))])
async def get_kpis(
    session: SessionDep,
    settings: SettingsDep,
    days: Annotated[int, Query(ge=1, le=366, description="window ending now")] = 30,
    since: Annotated[datetime | None, Query(description="ISO 8601 start (UTC if naive)")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601 end (default now)")] = None,
) -> kpis.Kpis:
    """Cycle time, perfect order, stockout, backorder, split, reroute, cost and return rates."""
    since = since.replace(tzinfo=UTC) if since and since.tzinfo is None else since
    until = until.replace(tzinfo=UTC) if until and until.tzinfo is None else until
    start, end = window(days, since, until)
    return await compute_kpis(session, settings, start, end)

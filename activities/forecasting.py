"""Forecasting activity: read daily demand and stock, plan every SKU, store the results."""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.io import ComputeForecastsInput, ComputeForecastsResult
from domain.forecast import plan
from store import analytics

log = structlog.get_logger(__name__)


class ForecastingActivities:
    """Demand forecasting over the OMS database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn
    async def compute_forecasts(self, inp: ComputeForecastsInput) -> ComputeForecastsResult:
        """Forecast every SKU from the last `history_days` full days and replace the stored run."""
        p = inp.params
        # Whole days only: today's partial demand would read as a sudden drop.
        start = inp.as_of.date() - timedelta(days=p.history_days)
        async with self._sessions() as session:
            series = await analytics.daily_demand(session, start, p.history_days)
            stock = await analytics.stock_facts(session)
        available: dict[str, int] = {}
        inbound: dict[str, int] = {}
        for s in stock:
            available[s.sku] = available.get(s.sku, 0) + s.available
            inbound[s.sku] = inbound.get(s.sku, 0) + s.inbound
        plans = [
            plan(sku, values, available.get(sku, 0), inbound.get(sku, 0), p)
            for sku, values in sorted(series.items())
        ]
        async with self._sessions.begin() as session:
            await analytics.save_forecasts(session, plans, p, inp.as_of)
        reorder = [f.sku for f in plans if f.reorder_now]
        log.info("forecasts computed", skus=len(plans), reorder_now=len(reorder))
        return ComputeForecastsResult(skus=len(plans), reorder_now=reorder)

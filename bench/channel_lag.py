"""Channel sync lag: how long a stock change took to reach each channel (p50/p99)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bench.stack import Stack
from bench.stats import percentile
from store.channel_tables import ChannelInventoryLevel


async def run_channel_lag(stack: Stack) -> dict[str, Any]:
    """Percentiles of `channel_inventory_levels.lag_ms`; `rows` 0 when nothing was pushed."""
    async with stack.sessions() as session:
        lags = [float(x) for x in await session.scalars(select(ChannelInventoryLevel.lag_ms))]
    return {
        "rows": len(lags),
        "p50_ms": percentile(lags, 50),
        "p99_ms": percentile(lags, 99),
    }

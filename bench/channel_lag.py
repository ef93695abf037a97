"""Channel sync lag: how long a stock change took to reach each channel (p50/p99).

`settle` waits until the channels have caught up with every stock change, so a phase is
not timed while they still push an earlier one's; with `orders`, also until the earlier
phases' orders stopped moving (shipping, delivering), as the sale times the relay that shares
their worker.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import func, select

from activities.channels import DEFAULT_SYNC_CHANNELS, sync_workflow_id
from bench.stack import Stack
from bench.stats import percentile
from store.channel_tables import ChannelInventoryLevel
from store.tables import Order, StockChange

SETTLE_POLL_S = 0.2
# Orders on their way (backordered ones wait for stock, received ones of the parked ingest
# queue never run: neither moves).
MOVING = ("in_fulfillment", "shipped", "delivered")


async def run_channel_lag(stack: Stack) -> dict[str, Any]:
    """Percentiles of `channel_inventory_levels.lag_ms`; `rows` 0 when nothing was pushed."""
    async with stack.sessions() as session:
        lags = [float(x) for x in await session.scalars(select(ChannelInventoryLevel.lag_ms))]
    return {
        "rows": len(lags),
        "p50_ms": percentile(lags, 50),
        "p99_ms": percentile(lags, 99),
    }


async def settle(stack: Stack, timeout_s: float = 60, *, orders: bool = False) -> None:
    """Until the outbox is empty and no channel sync has a change pending (or `timeout_s`);
    with `orders`, until no earlier order is still moving too."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        async with stack.sessions() as session:
            queued = await session.scalar(select(func.count()).select_from(StockChange))
            moving = (
                await session.scalar(
                    select(func.count()).select_from(Order).where(Order.status.in_(MOVING))
                )
                if orders
                else 0
            )
        if queued or moving:
            await asyncio.sleep(SETTLE_POLL_S)
            continue
        if not any([await _pending(stack, c) for c in DEFAULT_SYNC_CHANNELS]):
            return
        await asyncio.sleep(SETTLE_POLL_S)


async def _pending(stack: Stack, channel: str) -> bool:
    handle = stack.client.get_workflow_handle(sync_workflow_id(channel, stack.settings.task_queue))
    try:
        state = await handle.query("state")
    except Exception:  # not started yet, or between runs (continue-as-new)
        return False
    return bool(state["pending"])

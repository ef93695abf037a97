"""A flash sale as the channels see it: several marketplaces sell one scarce SKU at once.

Each simulated channel behaves like a platform with tracked inventory: it sells only while
the level it holds is above zero, counts its own sales down, and holds whatever level the
OMS's last push set (an absolute set). Buyers arrive at a steady rate at a random channel.
`channel_oversold` counts the orders the channels accepted that the OMS could not cover
(backordered, or cancelled as such, once the pipeline drained). The same sale runs again
with intake reservation off, and with shares off too, on the same stack, as the comparison.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bench.flash_sale import stock_flash_skus
from bench.orders import SETTLED, order_body, wait_statuses
from bench.progress import Bar
from bench.stack import Stack
from bench.stats import percentile
from store.channel_tables import ChannelInventoryLevel
from store.tables import Order, Reservation

CHANNELS = ("amazon", "ebay", "walmart")
# How often the simulated platforms look for a push the OMS made.
WATCH_S = 0.02


class Platforms:
    """What each channel holds, as set by the OMS's pushes and counted down by its sales."""

    def __init__(self, stack: Stack, sku: str, channels: tuple[str, ...]) -> None:
        self._stack, self._sku = stack, sku
        self.held = dict.fromkeys(channels, 0)
        self._seen: dict[str, datetime] = {}
        self.lags_s: list[float] = []

    async def watch(self, stop: asyncio.Event) -> None:
        """Apply every push the OMS recorded since the last look."""
        while not stop.is_set():
            await self.look()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), WATCH_S)

    async def look(self) -> None:
        async with self._stack.sessions() as session:
            rows = await session.scalars(
                select(ChannelInventoryLevel).where(
                    ChannelInventoryLevel.sku == self._sku,
                    ChannelInventoryLevel.channel.in_(list(self.held)),
                )
            )
            for row in rows:
                if self._seen.get(row.channel) == row.pushed_at:
                    continue  # no new push (intake counting a sale down is not one)
                self._seen[row.channel] = row.pushed_at
                self.held[row.channel] = row.available
                self.lags_s.append(row.lag_ms / 1000)

    def sell(self, channel: str) -> bool:
        """One unit, if the channel shows any."""
        if self.held[channel] <= 0:
            return False
        self.held[channel] -= 1
        return True


async def _wait_shown(platforms: Platforms, units: int, timeout_s: float) -> None:
    """Until the channels show the receipt (shared or whole), before the first buyer."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        await platforms.look()
        if all(platforms.held.values()) or sum(platforms.held.values()) >= units:
            return
        await asyncio.sleep(WATCH_S)


async def _sale(
    stack: Stack, buyers: int, rate: float, units: int, timeout_s: float, seed: int
) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6].upper()
    sku = f"SALE-{run}"
    await stock_flash_skus(stack, [sku], units)
    platforms = Platforms(stack, sku, CHANNELS)
    await _wait_shown(platforms, units, timeout_s)
    stop = asyncio.Event()
    watcher = asyncio.create_task(platforms.watch(stop))
    rng = random.Random(seed)
    prefix = f"s{run.lower()}-"
    accepted = dict.fromkeys(CHANNELS, 0)
    refused = dict.fromkeys(CHANNELS, 0)
    posts: list[asyncio.Task[Any]] = []
    started = time.perf_counter()
    with Bar("channel sale", buyers) as bar:
        for i in range(buyers):
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
            channel = rng.choice(CHANNELS)
            if platforms.sell(channel):
                accepted[channel] += 1
                body = order_body(f"{prefix}{i}", sku) | {"channel": channel}
                posts.append(
                    asyncio.create_task(
                        stack.http.post("/v1/orders", json=body, headers=stack.headers())
                    )
                )
            else:
                refused[channel] += 1
            bar.set(i + 1)
        for response in await asyncio.gather(*posts):
            if response.status_code not in (200, 202):
                raise RuntimeError(f"POST /v1/orders: {response.status_code} {response.text}")
        stop.set()
        await watcher
        total = sum(accepted.values())
        counts = await wait_statuses(stack, prefix, total, SETTLED, bar, timeout_s)
    drain_s = time.perf_counter() - started
    return {
        "units": units,
        "buyers": buyers,
        "accepted": accepted,
        "refused": refused,
        "statuses": counts,
        # Buyers never cancel here: a cancelled order is a backorder the OMS gave up on.
        "channel_oversold": counts.get("backordered", 0) + counts.get("cancelled", 0),
        "atp_lag_p50_s": percentile(platforms.lags_s, 50),
        "atp_lag_p99_s": percentile(platforms.lags_s, 99),
        "intake_to_reserved_p99_s": await _intake_to_reserved_p99(stack, prefix),
        "drain_s": round(drain_s, 3),
    }


async def _intake_to_reserved_p99(stack: Stack, prefix: str) -> float:
    """From an order's row to its first reservation (seconds, p99 over the sale's orders)."""
    first = (
        select(Reservation.order_id, func.min(Reservation.created_at).label("at"))
        .group_by(Reservation.order_id)
        .subquery()
    )
    async with stack.sessions() as session:
        rows = await session.execute(
            select(Order.created_at, first.c.at)
            .join(first, first.c.order_id == Order.order_id)
            .where(Order.external_id.like(f"{prefix}%"))
        )
        waits = [(at - created).total_seconds() for created, at in rows.all()]
    return percentile(waits, 99)


async def run_channel_sale(
    stack: Stack, buyers: int, rate: float, units: int, timeout_s: float, seed: int
) -> dict[str, Any]:
    """The sale as configured (intake reservation and shares on), then with intake
    reservation off, then with shares off too (every channel shown the whole network's ATP,
    as before either existed), side by side on the same stack."""
    settings = stack.settings
    share_below = settings.atp_share_below
    out = {"with_intake": await _sale(stack, buyers, rate, units, timeout_s, seed)}
    # The API reads intake_reservation per request and the relay reads the share threshold
    # each pass, so the same stack shows what each one prevents.
    try:
        settings.intake_reservation = False
        out["without_intake"] = await _sale(stack, buyers, rate, units, timeout_s, seed)
        settings.atp_share_below = 0
        out["without_intake_or_shares"] = await _sale(stack, buyers, rate, units, timeout_s, seed)
    finally:
        settings.intake_reservation, settings.atp_share_below = True, share_below
    return out

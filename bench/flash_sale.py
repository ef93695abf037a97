"""Flash sale: many orders for three scarce SKUs at once, through the API.

Measures the time until every order has settled (in fulfilment, backordered, or beyond) and
checks that no unit was promised twice.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

from bench.orders import SETTLED, order_body, post_orders, wait_statuses
from bench.oversold import check_levels
from bench.progress import Bar
from bench.stack import Stack
from bench.stats import latency_ms, rate
from store import inventory
from store.tables import Sku, StockLevel

LOCATION = "WH-EAST"


async def stock_flash_skus(stack: Stack, skus: list[str], units: int) -> None:
    async with stack.sessions.begin() as session:
        for sku in skus:
            session.add(Sku(sku=sku, name=f"Flash {sku}", weight_grams=200, price=Decimal("9")))
        await session.flush()
        for sku in skus:
            session.add(
                StockLevel(
                    sku=sku, location_id=LOCATION, on_hand=0, reserved=0, safety_stock=0, inbound=0
                )
            )
            await session.flush()
            await inventory.adjust(session, sku, LOCATION, units, "flash sale", kind="receipt")


async def run_flash_sale(
    stack: Stack, n: int, stock_per_sku: int, concurrency: int, timeout_s: float
) -> dict[str, Any]:
    """`n` orders round-robin over 3 SKUs with `stock_per_sku` units each."""
    run = uuid.uuid4().hex[:6].upper()
    skus = [f"FLASH-{run}-{x}" for x in "ABC"]
    await stock_flash_skus(stack, skus, stock_per_sku)
    prefix = f"f{run.lower()}-"
    bodies = [order_body(f"{prefix}{i}", skus[i % 3]) for i in range(n)]
    started = time.perf_counter()
    with Bar("flash sale", n) as bar:
        latencies = await post_orders(stack, bodies, concurrency)
        accepted_s = time.perf_counter() - started
        counts = await wait_statuses(stack, prefix, n, SETTLED, bar, timeout_s)
    drain_s = time.perf_counter() - started
    levels = await check_levels(stack.engine, skus)
    oversold = sum(level.oversold(stock_per_sku) for level in levels)
    settled = sum(v for k, v in counts.items() if k in SETTLED)
    return {
        "orders": n,
        "stock": 3 * stock_per_sku,
        "accept_per_s": rate(n, accepted_s),
        **latency_ms(latencies),
        "drain_s": round(drain_s, 3),
        "settled": settled,
        "statuses": counts,
        "units_out": sum(level.held + level.committed for level in levels),
        "oversold": oversold,
    }

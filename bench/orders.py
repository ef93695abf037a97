"""Canonical order bodies and read-model queries shared by the order phases."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import func, select

from bench.progress import Bar
from bench.stack import Stack
from domain.states import STOCK_SETTLED
from store.tables import Order

DONE = frozenset({"delivered", "completed"})
ENDED = frozenset({"failed", "cancelled"})
# "in_fulfillment/backordered or beyond": anything but the first steps.
SETTLED = STOCK_SETTLED
POLL_S = 0.2


def order_body(external_id: str, sku: str, quantity: int = 1) -> dict[str, Any]:
    """The DESIGN.md example order for one SKU."""
    return {
        "channel": "web",
        "external_id": external_id,
        "customer": {"email": "ann@example.com", "name": "Ann Lee", "phone": "+15125550100"},
        "ship_to": {
            "name": "Ann Lee",
            "line1": "1 Main St",
            "city": "Austin",
            "region": "TX",
            "postal_code": "78701",
            "country": "US",
        },
        "lines": [{"line_id": "1", "sku": sku, "quantity": quantity, "unit_price": "19.99"}],
        "currency": "USD",
        "shipping_service": "standard",
        "payment": {"method": "card", "token": "tok_visa"},
    }


async def post_orders(
    stack: Stack,
    bodies: list[dict[str, Any]],
    concurrency: int,
    on_done: Callable[[], None] | None = None,
) -> list[float]:
    """POST every body with at most `concurrency` in flight; returns each request's latency."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(body: dict[str, Any]) -> None:
        async with gate:
            started = time.perf_counter()
            response = await stack.http.post("/v1/orders", json=body, headers=stack.headers())
            latencies.append(time.perf_counter() - started)
            if response.status_code not in (200, 202):
                raise RuntimeError(f"POST /v1/orders: {response.status_code} {response.text}")
            if on_done is not None:
                on_done()

    await asyncio.gather(*(one(b) for b in bodies))
    return latencies


async def status_counts(stack: Stack, prefix: str) -> dict[str, int]:
    """Orders whose external id starts with `prefix`, by read-model status."""
    async with stack.sessions() as session:
        rows = await session.execute(
            select(Order.status, func.count())
            .where(Order.external_id.like(f"{prefix}%"))
            .group_by(Order.status)
        )
        return {status: int(n) for status, n in rows.all()}


async def wait_statuses(
    stack: Stack,
    prefix: str,
    total: int,
    wanted: Collection[str],
    bar: Bar,
    timeout_s: float,
) -> dict[str, int]:
    """Poll until `total` orders are in `wanted` or ended; returns the last counts."""
    deadline = time.perf_counter() + timeout_s
    counts: dict[str, int] = {}
    while time.perf_counter() < deadline:
        counts = await status_counts(stack, prefix)
        finished = sum(n for s, n in counts.items() if s in wanted or s in ENDED)
        bar.set(finished)
        if finished >= total:
            break
        await asyncio.sleep(POLL_S)
    return counts

"""`oms simulate --flash-sale`: buyers at several marketplaces with tracked inventory, at once.

Each channel sells the SKU only while the quantity the OMS last pushed to it (read back from
the sandbox marketplace's recorded request), counted down by its own sales, is above zero;
buyers arrive at `--rate` per second at a random channel. Every sale becomes an order on the
API. At the end it reports what each channel sold and turned away, and `channel_oversold`:
the orders the channels accepted that the OMS could not cover (backordered, or cancelled as
such; the simulated buyers never cancel).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from config.settings import Settings
from domain.states import STOCK_SETTLED
from sandbox.db import open_sandbox_database
from sandbox.tracked_listings import TrackedListings

# How often the simulated platforms look for a new inventory call.
LOOK_S = 0.05
# How long the channels may take to be told the SKU's quantity before the sale starts.
SHOWN_S = 30.0
# Statuses where the order's stock outcome is known.
SETTLED = STOCK_SETTLED
MARKETPLACES = ("amazon", "ebay", "etsy", "walmart")


@dataclass(frozen=True)
class FlashSale:
    """What to simulate."""

    sku: str
    channels: Sequence[str] = ("amazon", "ebay", "walmart")
    buyers: int = 600
    rate: float = 50.0
    seed: int | None = None
    # How long to wait for the channels to show the SKU, and for the orders to settle.
    timeout_s: float = 300.0


def order_body(channel: str, external_id: str, sku: str) -> dict[str, Any]:
    """One unit of `sku`, as the channel's order reaches the OMS."""
    return {
        "channel": channel,
        "external_id": external_id,
        "customer": {"email": "buyer@example.com", "name": "Flash Buyer"},
        "ship_to": {
            "name": "Flash Buyer",
            "line1": "1 Main St",
            "city": "Austin",
            "region": "TX",
            "postal_code": "78701",
            "country": "US",
        },
        "lines": [{"line_id": "1", "sku": sku, "quantity": 1, "unit_price": "19.99"}],
        "currency": "USD",
        "shipping_service": "standard",
        "payment": {"method": "card", "token": "tok_visa"},
    }


async def run_flash_sale(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    listings: TrackedListings,
    sale: FlashSale,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Run the sale against the API `http` points at; returns the report."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + sale.timeout_s
    # Before the first buyer: every channel has been told a quantity (some may be told 0).
    told_by = loop.time() + SHOWN_S
    while not listings.told_all():
        await listings.look()
        if loop.time() > told_by:
            if not any(listings.held.values()):
                raise RuntimeError(f"no channel shows {sale.sku}: is it stocked and synced?")
            break  # sell where it is shown
        await asyncio.sleep(LOOK_S)
    shown = dict(listings.held)
    stop = asyncio.Event()

    async def watch() -> None:
        while not stop.is_set():
            await listings.look()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), LOOK_S)

    watcher = asyncio.create_task(watch())
    rng = random.Random(sale.seed)
    run = uuid.uuid4().hex[:8]
    accepted: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    posts: list[asyncio.Task[httpx.Response]] = []
    started = time.perf_counter()
    try:
        for i in range(sale.buyers):
            await asyncio.sleep(max(0.0, started + i / sale.rate - time.perf_counter()))
            channel = rng.choice(list(sale.channels))
            if listings.sell(channel):
                accepted[channel] += 1
                body = order_body(channel, f"flash-{run}-{i}", sale.sku)
                posts.append(
                    asyncio.create_task(http.post("/v1/orders", json=body, headers=headers))
                )
            else:
                refused[channel] += 1
            if (i + 1) % max(1, sale.buyers // 10) == 0:
                progress(f"buyers {i + 1}/{sale.buyers}: sold {sum(accepted.values())}")
        responses = await asyncio.gather(*posts)
    finally:
        stop.set()
        await watcher
    order_ids = []
    for response in responses:
        if response.status_code not in (200, 202):
            raise RuntimeError(f"POST /v1/orders: {response.status_code} {response.text[:300]}")
        order_ids.append(response.json()["order_id"])
    statuses = await _settle(http, headers, order_ids, deadline, progress)
    counts = Counter(statuses.values())
    return {
        "sku": sale.sku,
        "buyers": sale.buyers,
        "rate": sale.rate,
        "shown_at_start": shown,
        "accepted": dict(accepted),
        "refused": dict(refused),
        "inventory_sets_seen": listings.sets,
        "statuses": dict(counts),
        "channel_oversold": counts.get("backordered", 0) + counts.get("cancelled", 0),
        "elapsed_s": round(time.perf_counter() - started, 3),
    }


async def _settle(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    order_ids: list[str],
    deadline: float,
    progress: Callable[[str], None],
) -> dict[str, str]:
    """Poll each order until its stock outcome is known (or the deadline passes)."""
    statuses: dict[str, str] = {}
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(16)

    async def status(order_id: str) -> None:
        async with gate:
            response = await http.get(f"/v1/orders/{order_id}", headers=headers)
        if response.status_code == 200:
            statuses[order_id] = response.json()["status"]

    while True:
        pending = [o for o in order_ids if statuses.get(o) not in SETTLED]
        if not pending or loop.time() > deadline:
            return statuses
        await asyncio.gather(*(status(o) for o in pending))
        done = len(order_ids) - len([o for o in order_ids if statuses.get(o) not in SETTLED])
        progress(f"orders settled {done}/{len(order_ids)}")
        await asyncio.sleep(0.5)


def stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(args: argparse.Namespace, settings: Settings) -> int:
    """Entry point of `oms simulate --flash-sale`; exit 1 if a channel oversold."""
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    unknown = sorted(set(channels) - set(MARKETPLACES))
    problem = (
        "--sku is required"
        if not args.sku
        else "--key (an ops API key) is required"
        if not args.key
        else f"--channels: unknown {unknown} (choose from {', '.join(MARKETPLACES)})"
        if unknown or not channels
        else "need --buyers >= 1 and --rate > 0"
        if args.buyers < 1 or args.rate <= 0
        else ""
    )
    if problem:
        print(f"oms simulate --flash-sale: {problem}", file=sys.stderr)
        return 2
    sale = FlashSale(args.sku, tuple(channels), args.buyers, args.rate, args.seed)
    report = asyncio.run(_run(args.api, args.key, settings, sale))
    print(json.dumps(report))
    return 1 if report["channel_oversold"] else 0


async def _run(api: str, key: str, settings: Settings, sale: FlashSale) -> dict[str, Any]:
    sandbox = await open_sandbox_database(settings.sandbox_database_url_resolved(), pool_size=2)
    async with httpx.AsyncClient(base_url=api.rstrip("/"), timeout=60.0) as http:
        try:
            listings = TrackedListings(sandbox.sessions, sale.sku, sale.channels)
            headers = {"Authorization": f"Bearer {key}"}
            return await run_flash_sale(http, headers, listings, sale, stderr_progress)
        finally:
            await sandbox.dispose()

"""Inventory use cases: adjust, receive, expect stock, and wake the backorders it serves.

Called by the API (ops adjusting and receiving stock) and by activities (a return restocked,
a cancelled order's stock released). Every path that adds available units serves waiting
backorders oldest first in its own transaction (`store.inventory.serve_waiting`); the orders
given stock are woken after the commit. A lost wake-up only delays an order to its next
recheck: the units are already held for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from domain.errors import NotFound, Refused
from store import inventory
from store.tables import Location, Sku, StockLevel

log = structlog.get_logger(__name__)
STOCK_AVAILABLE = "stock_available"


async def wake(client: Client, workflow_ids: Iterable[str]) -> int:
    """Tell each order workflow that stock was set aside for it; returns how many heard."""
    heard = 0
    for workflow_id in sorted(set(workflow_ids)):
        try:
            await client.get_workflow_handle(workflow_id).signal(STOCK_AVAILABLE)
            heard += 1
        except Exception as err:  # a closed workflow no longer waits; the rest still must hear
            log.warning("could not wake backorder", workflow_id=workflow_id, error=str(err))
    return heard


async def _known(session: AsyncSession, sku: str, location_id: str) -> None:
    if await session.get(Sku, sku) is None:
        raise NotFound(f"no SKU {sku!r}", "sku")
    if await session.get(Location, location_id) is None:
        raise NotFound(f"no location {location_id!r}", "location_id")


async def adjust(
    sessions: async_sessionmaker[AsyncSession],
    client: Client | None,
    *,
    sku: str,
    location_id: str,
    delta: int,
    reason: str,
    kind: str = "adjustment",
) -> StockLevel:
    """Change on-hand (a count, damage, a found unit); new units serve backorders first."""
    async with sessions.begin() as session:
        await _known(session, sku, location_id)
        try:
            level = await inventory.adjust(session, sku, location_id, delta, reason, kind=kind)
        except ValueError as err:
            raise Refused(str(err), "delta") from err
        woken = set(inventory.wakeups(session))
    if client is not None:
        await wake(client, woken)
    return level


async def receive(
    sessions: async_sessionmaker[AsyncSession],
    client: Client | None,
    *,
    sku: str,
    location_id: str,
    quantity: int,
    reference: str,
) -> StockLevel:
    """Stock arrived at a location (inbound fulfilled); it serves backorders first."""
    async with sessions.begin() as session:
        await _known(session, sku, location_id)
        level = await inventory.receive(session, sku, location_id, quantity, reference)
        woken = set(inventory.wakeups(session))
    if client is not None:
        await wake(client, woken)
    return level


async def expect(
    sessions: async_sessionmaker[AsyncSession],
    *,
    sku: str,
    location_id: str,
    quantity: int,
    expected_at: datetime | None,
    reference: str,
) -> StockLevel:
    """Stock on its way (a purchase order or transfer) with its expected date."""
    async with sessions.begin() as session:
        await _known(session, sku, location_id)
        return await inventory.expect_inbound(
            session, sku, location_id, quantity, expected_at, reference
        )


async def release_for_order(
    sessions: async_sessionmaker[AsyncSession],
    client: Client | None,
    *,
    order_id: str,
    location_ids: Iterable[str] = (),
    hold_ids: Iterable[str] = (),
    reason: str = "",
    leave_queue: bool = False,
) -> int:
    """Give back what an order holds (all, or some holds or locations); units released.

    Freed units go to the oldest waiting backorders, which are woken.
    """
    async with sessions.begin() as session:
        units = await inventory.release(
            session,
            order_id,
            list(location_ids),
            reason,
            hold_ids=list(hold_ids),
            leave_queue=leave_queue,
        )
        woken = set(inventory.wakeups(session))
    if client is not None:
        await wake(client, woken)
    return units


async def trim_for_order(
    sessions: async_sessionmaker[AsyncSession],
    client: Client | None,
    *,
    order_id: str,
    keep: dict[str, int],
    reason: str = "",
) -> int:
    """An order change reduced lines: what they held or claimed while waiting beyond what they
    keep goes back (`store.inventory.trim_open`); freed units serve the oldest backorders."""
    async with sessions.begin() as session:
        units = await inventory.trim_open(session, order_id, keep, reason)
        woken = set(inventory.wakeups(session))
    if client is not None:
        await wake(client, woken)
    return units

"""Order activities: validation against the catalogue, and the read-model projection."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities import io
from activities.errors import business_error
from domain.errors import INVALID_ADDRESS, UNKNOWN_SKU
from domain.validation import address_problems
from store import events as event_store
from store.tables import Order, Sku

log = structlog.get_logger(__name__)


class OrderActivities:
    """Activities that read the catalogue and write the orders read model."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn
    async def validate_order(self, inp: io.ValidateOrderInput) -> io.ValidatedOrder:
        """Every SKU exists and the address is shippable; returns SKU weights."""
        problems = address_problems(inp.order.ship_to)
        if problems:
            field, message = problems[0]
            business_error(INVALID_ADDRESS, f"{field}: {message}")
        skus = {line.sku for line in inp.order.lines}
        async with self._sessions() as session:
            rows = await session.execute(select(Sku.sku, Sku.weight_grams).where(Sku.sku.in_(skus)))
            weights = {sku: weight for sku, weight in rows.all()}
        missing = sorted(skus - weights.keys())
        if missing:
            business_error(UNKNOWN_SKU, f"unknown SKU(s): {', '.join(missing)}")
        log.info("order validated", order_id=inp.order_id)
        return io.ValidatedOrder(weights=weights)

    @activity.defn
    async def validate_address(self, inp: io.ValidateAddressInput) -> None:
        """The new address is shippable."""
        problems = address_problems(inp.address)
        if problems:
            field, message = problems[0]
            business_error(INVALID_ADDRESS, f"{field}: {message}")

    @activity.defn
    async def project_order(self, inp: io.ProjectOrderInput) -> None:
        """Write the order's snapshot and new timeline events; never goes back in version."""
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            values: dict[str, object] = {
                "status": inp.status,
                "hold": inp.hold,
                "failure_reason": inp.failure_reason,
                "shipments": inp.shipments,
                "payments": inp.payments,
                "routing": inp.routing,
                "version": inp.version,
                "updated_at": now,
            }
            await session.execute(
                update(Order)
                .where(Order.order_id == inp.order_id, Order.version < inp.version)
                .values(**values)
            )
            if inp.ship_to is not None:
                await _update_ship_to(session, inp)
            await event_store.append(session, inp.order_id, inp.events)


async def _update_ship_to(session: AsyncSession, inp: io.ProjectOrderInput) -> None:
    row = await session.get(Order, inp.order_id)
    if row is not None and row.document.get("ship_to") != inp.ship_to:
        row.document = {**row.document, "ship_to": inp.ship_to}

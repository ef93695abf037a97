"""Order activities: validation against the catalogue, and the read-model projection."""

from __future__ import annotations

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities import io
from activities.errors import business_error
from domain.errors import INVALID_ADDRESS, UNKNOWN_SKU
from domain.validation import address_problems
from store.db import readers
from store.projections import ProjectionWriter
from store.tables import Sku

log = structlog.get_logger(__name__)


class OrderActivities:
    """Activities that read the catalogue and write the orders read model."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._reads = readers(sessions)
        # One per worker: concurrent projections share transactions.
        self._projections = ProjectionWriter(sessions)

    @activity.defn
    async def validate_order(self, inp: io.ValidateOrderInput) -> io.ValidatedOrder:
        """Every SKU exists and the address is shippable; returns SKU weights."""
        problems = address_problems(inp.order.ship_to)
        if problems:
            field, message = problems[0]
            business_error(INVALID_ADDRESS, f"{field}: {message}")
        skus = {line.sku for line in inp.order.lines}
        async with self._reads() as session:
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
        await self._projections.write(inp)

"""Return activities: SKU prices for exchanges, the RMA read model, stock moves per parcel.

The return label is bought by `ShippingActivities.buy_label(direction="return")`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities import io
from domain.returns import MOVEMENT_KIND
from services import inventory as stock_service
from store import inventory
from store.returns_tables import Return, ReturnLine
from store.tables import Sku, StockMovement

log = structlog.get_logger(__name__)


class ReturnActivities:
    """Side effects of returns on the OMS database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn
    async def price_skus(self, inp: io.SkuPricesInput) -> dict[str, Decimal]:
        """Catalogue price of each known SKU (unknown ones are absent)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(Sku.sku, Sku.price).where(Sku.sku.in_(sorted(set(inp.skus))))
            )
            return {sku: Decimal(price) for sku, price in rows.all()}

    @activity.defn
    async def record_return(self, inp: io.RecordReturnInput) -> None:
        """Upsert the RMA read model; an older snapshot than the stored one is ignored."""
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            row = await session.get(Return, inp.rma_id, with_for_update=True)
            if row is not None and row.version > inp.version:
                return
            if row is None:
                row = Return(rma_id=inp.rma_id, created_at=now)
                session.add(row)
            row.order_id, row.workflow_id, row.status = inp.order_id, inp.workflow_id, inp.status
            row.location_id, row.carrier = inp.location_id, inp.carrier
            row.tracking_number, row.label_url = inp.tracking_number, inp.label_url
            row.refund_amount = inp.refund_amount
            row.replacement_shipment_id = inp.replacement_shipment_id
            row.version, row.updated_at = inp.version, now
            await session.flush()
            stored = {
                x.line_id: x
                for x in await session.scalars(
                    select(ReturnLine).where(ReturnLine.rma_id == inp.rma_id)
                )
            }
            for line in inp.lines:
                target = stored.pop(line.line_id, None)
                if target is None:
                    target = ReturnLine(rma_id=inp.rma_id, line_id=line.line_id)
                    session.add(target)
                target.sku, target.quantity, target.reason = line.sku, line.quantity, line.reason
                target.exchange_sku, target.received_quantity = line.exchange_sku, line.received
                target.condition, target.disposition = line.condition, line.disposition
            for line_id in stored:
                await session.execute(
                    delete(ReturnLine).where(
                        ReturnLine.rma_id == inp.rma_id, ReturnLine.line_id == line_id
                    )
                )

    @activity.defn
    async def apply_dispositions(self, inp: io.DispositionInput) -> dict[str, int]:
        """Restock, refurbish, inspect or write off one parcel's lines, once; units per kind.

        Restocked units serve waiting backorders first, oldest first; those orders are woken.
        """
        moved: dict[str, int] = {}
        async with self._sessions.begin() as session:
            for line in inp.lines:
                if not line.received or line.disposition is None:
                    continue
                row = await session.get(ReturnLine, (inp.rma_id, line.line_id))
                if row is not None and _applied(row, inp.receipt):
                    continue
                kind = MOVEMENT_KIND[line.disposition]
                reason = f"{inp.rma_id} line {line.line_id}: {line.condition}, {line.reason}"
                if line.disposition == "restock":
                    await inventory.adjust(
                        session, line.sku, inp.location_id, line.received, reason, kind=kind
                    )
                else:
                    # The units left on-hand when they shipped; they come back outside stock.
                    session.add(
                        StockMovement(
                            sku=line.sku,
                            location_id=inp.location_id,
                            kind=kind,
                            on_hand_delta=0,
                            reserved_delta=0,
                            reason=f"{reason} ({line.received} unit(s))"[:200],
                            order_id=inp.order_id,
                        )
                    )
                if row is not None:
                    row.disposition_applied = True
                    row.applied_receipt = inp.receipt
                moved[kind] = moved.get(kind, 0) + line.received
            woken = set(inventory.wakeups(session))
        await stock_service.wake(activity.client(), woken)
        log.info("return dispositions applied", rma_id=inp.rma_id, moved=moved)
        return moved


def _applied(row: ReturnLine, receipt: int) -> bool:
    """Whether this receipt's units of the line already moved (a retried activity)."""
    if row.applied_receipt:
        return row.applied_receipt >= receipt
    return row.disposition_applied and receipt <= 1

"""Return activities: the customer's return label, SKU prices, the RMA read model, stock moves."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

import structlog
from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities import io
from activities.errors import business_error
from activities.payments import call
from domain.errors import INVALID_ADDRESS
from domain.models import Address
from domain.order_state import RateChoice
from domain.rates import choose_rate
from domain.returns import MOVEMENT_KIND, RmaLine
from integrations.carriers.protocol import Address as CarrierAddress
from integrations.carriers.protocol import Carrier, Rate, RateRequest
from store import inventory
from store.dialect import insert_for
from store.returns_tables import Return, ReturnLine
from store.tables import Location, ShipmentDocument, Sku, StockMovement

log = structlog.get_logger(__name__)
# Returns travel by the cheapest service: the customer is not waiting for them.
RETURN_SERVICE = "economy"


class ReturnLabelInput(BaseModel):
    """A prepaid label from the customer back to the receiving location."""

    idempotency_key: str
    order_id: str
    rma_id: str
    location_id: str
    ship_from: Address
    lines: list[RmaLine]
    weights: dict[str, int] = Field(default_factory=dict)


class SkuPricesInput(BaseModel):
    """SKUs whose catalogue price an exchange needs."""

    skus: list[str]


class RecordReturnInput(BaseModel):
    """A snapshot of an RMA for the read model; `version` orders late retries."""

    rma_id: str
    order_id: str
    workflow_id: str
    status: str
    location_id: str
    carrier: str = ""
    tracking_number: str = ""
    label_url: str = ""
    refund_amount: Decimal | None = None
    replacement_shipment_id: str | None = None
    version: int
    lines: list[RmaLine]


class DispositionInput(BaseModel):
    """Move the inspected units of an RMA: restock, refurbish or write off."""

    rma_id: str
    order_id: str
    location_id: str
    lines: list[RmaLine]


class ReturnActivities:
    """Side effects of returns; carriers and the database built once by the worker."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        carriers: Mapping[str, Carrier],
        public_url: str,
    ) -> None:
        self._sessions, self._carriers, self._public_url = sessions, carriers, public_url

    @activity.defn
    async def buy_return_label(self, inp: ReturnLabelInput) -> io.LabelResult:
        """Shop rates from the customer to the location, buy the cheapest, store the PDF."""
        async with self._sessions() as session:
            location = await session.get(Location, inp.location_id)
        if location is None:
            business_error("UnknownLocation", f"location {inp.location_id} does not exist")
        weight = sum(inp.weights.get(x.sku, 500) * x.quantity for x in inp.lines)
        request = RateRequest(
            ship_from=CarrierAddress(**inp.ship_from.model_dump()),
            ship_to=CarrierAddress(
                name=location.name,
                line1=location.name,
                # Locations keep no city; carriers want one, and the name identifies the site.
                city=location.name,
                region=location.region,
                postal_code=location.postal_code,
                country=location.country,
            ),
            weight_grams=max(weight, 1),
        )
        rates: list[Rate] = []
        for carrier in self._carriers.values():
            rates.extend(await call(carrier.rates(request)))
        try:
            chosen, others = choose_rate(rates, RETURN_SERVICE)
        except ValueError as err:
            business_error(INVALID_ADDRESS, str(err))
        label = await call(
            self._carriers[chosen.carrier].buy_label(
                idempotency_key=inp.idempotency_key, rate=chosen, req=request, reference=inp.rma_id
            )
        )
        async with self._sessions.begin() as session:
            insert = insert_for(session)
            for kind, content_type, body in (
                ("label", "application/pdf", label.pdf),
                ("label_zpl", "text/plain; charset=utf-8", label.zpl.encode()),
            ):
                await session.execute(
                    insert(ShipmentDocument)
                    .values(shipment_id=inp.rma_id, kind=kind, content_type=content_type, body=body)
                    .on_conflict_do_nothing()
                )
        log.info("return label bought", order_id=inp.order_id, rma_id=inp.rma_id)
        return io.LabelResult(
            label_id=label.label_id,
            carrier=label.carrier,
            service=label.service,
            tracking_number=label.tracking_number,
            label_url=f"{self._public_url}/v1/shipments/{inp.rma_id}/label",
            rate=_choice(chosen),
            alternatives=[_choice(r) for r in others],
        )

    @activity.defn
    async def price_skus(self, inp: SkuPricesInput) -> dict[str, Decimal]:
        """Catalogue price of each known SKU (unknown ones are absent)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(Sku.sku, Sku.price).where(Sku.sku.in_(sorted(set(inp.skus))))
            )
            return {sku: Decimal(price) for sku, price in rows.all()}

    @activity.defn
    async def record_return(self, inp: RecordReturnInput) -> None:
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
    async def apply_dispositions(self, inp: DispositionInput) -> dict[str, int]:
        """Restock, refurbish or write off each inspected line, once; units moved per kind."""
        moved: dict[str, int] = {}
        async with self._sessions.begin() as session:
            for line in inp.lines:
                if not line.received or line.disposition is None:
                    continue
                row = await session.get(ReturnLine, (inp.rma_id, line.line_id))
                if row is not None and row.disposition_applied:
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
                moved[kind] = moved.get(kind, 0) + line.received
        log.info("return dispositions applied", rma_id=inp.rma_id, moved=moved)
        return moved


def _choice(rate: Rate) -> RateChoice:
    return RateChoice(
        carrier=rate.carrier,
        service=rate.service,
        amount=rate.amount,
        currency=rate.currency,
        transit_days=rate.transit_days,
    )

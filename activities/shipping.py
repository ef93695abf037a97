"""Shipping activities: rate shopping and labels, voids, tracking polls."""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities import io
from activities.errors import business_error
from activities.payments import call
from domain.errors import INVALID_ADDRESS, UNKNOWN_CARRIER, UNKNOWN_LOCATION
from domain.order_state import RateChoice, TimelineEvent
from domain.rates import choose_rate
from domain.timeline import carrier_scan
from integrations.carriers.errors import LabelAlreadyUsed
from integrations.carriers.labels import packing_slip_pdf
from integrations.carriers.protocol import Address as CarrierAddress
from integrations.carriers.protocol import Carrier, Rate, RateRequest
from integrations.errors import IntegrationError
from store import events as event_store
from store.db import readers
from store.dialect import insert_for
from store.tables import Location, ShipmentDocument, Sku

log = structlog.get_logger(__name__)


def _choice(rate: Rate) -> RateChoice:
    return RateChoice(
        carrier=rate.carrier,
        service=rate.service,
        amount=rate.amount,
        currency=rate.currency,
        transit_days=rate.transit_days,
    )


async def _reraise(err: IntegrationError) -> None:
    raise err


class ShippingActivities:
    """Carriers behind one protocol; label documents stored for the API to serve."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        carriers: Mapping[str, Carrier],
        public_url: str,
    ) -> None:
        self._sessions, self._carriers, self._public_url = sessions, carriers, public_url
        self._reads = readers(sessions)

    @activity.defn
    async def buy_label(self, inp: io.BuyLabelInput) -> io.LabelResult:
        """Shop rates across carriers, buy the cheapest that keeps the promise, store the label.

        Outbound labels go from the location to the customer (with a packing slip); return
        labels (`direction="return"`) from the customer back to the location.
        """
        async with self._reads() as session:
            location = await session.get(Location, inp.location_id)
            rows = await session.execute(
                select(Sku.sku, Sku.name).where(Sku.sku.in_({x.sku for x in inp.lines}))
            )
            names = {sku: name for sku, name in rows.all()}
        if location is None:
            business_error(UNKNOWN_LOCATION, f"location {inp.location_id} does not exist")
        weight = sum(inp.weights.get(x.sku, 500) * x.quantity for x in inp.lines)
        site = CarrierAddress(
            name=location.name,
            line1=location.name,
            # Locations keep no city yet; carriers want one, and the name identifies the site.
            city=location.name,
            region=location.region,
            postal_code=location.postal_code,
            country=location.country,
        )
        customer = CarrierAddress(**inp.ship_to.model_dump())
        outbound = inp.direction == "outbound"
        request = RateRequest(
            ship_from=site if outbound else customer,
            ship_to=customer if outbound else site,
            weight_grams=max(weight, 1),
        )
        rates: list[Rate] = []
        for carrier in self._carriers.values():
            rates.extend(await call(carrier.rates(request)))
        try:
            chosen, others = choose_rate(rates, inp.service)
        except ValueError as err:
            business_error(INVALID_ADDRESS, str(err))
        label = await call(
            self._carriers[chosen.carrier].buy_label(
                idempotency_key=inp.idempotency_key,
                rate=chosen,
                req=request,
                reference=inp.shipment_id,
            )
        )
        docs = {
            "label": ("application/pdf", label.pdf),
            "label_zpl": ("text/plain; charset=utf-8", label.zpl.encode()),
        }
        if outbound:
            items = [
                {"sku": x.sku, "name": names.get(x.sku, x.sku), "quantity": x.quantity}
                for x in inp.lines
            ]
            slip = packing_slip_pdf(inp.shipment_id, inp.order_id, inp.ship_to.model_dump(), items)
            docs["packing_slip"] = ("application/pdf", slip)
        await self._store(inp.shipment_id, docs)
        log.info(
            "label bought",
            order_id=inp.order_id,
            shipment_id=inp.shipment_id,
            direction=inp.direction,
            carrier=label.carrier,
            tracking_number=label.tracking_number,
        )
        return io.LabelResult(
            label_id=label.label_id,
            carrier=label.carrier,
            service=label.service,
            tracking_number=label.tracking_number,
            label_url=f"{self._public_url}/v1/shipments/{inp.shipment_id}/label",
            rate=_choice(chosen),
            alternatives=[_choice(r) for r in others],
        )

    @activity.defn
    async def hand_over_parcel(self, inp: io.HandOverInput) -> None:
        """The parcel left the building: the carrier takes it (manifest), tracking starts."""
        carrier = self._carriers.get(inp.carrier)
        if carrier is None:
            business_error(UNKNOWN_CARRIER, f"no carrier {inp.carrier!r} configured")
        await call(carrier.hand_over(label_id=inp.label_id, idempotency_key=inp.idempotency_key))
        log.info("parcel handed over", order_id=inp.order_id, shipment_id=inp.shipment_id)

    async def _store(self, shipment_id: str, docs: dict[str, tuple[str, bytes]]) -> None:
        rows = [
            {"shipment_id": shipment_id, "kind": kind, "content_type": content_type, "body": body}
            for kind, (content_type, body) in docs.items()
        ]
        async with self._sessions.begin() as session:
            insert = insert_for(session)
            await session.execute(insert(ShipmentDocument).values(rows).on_conflict_do_nothing())

    @activity.defn
    async def void_label(self, inp: io.VoidLabelInput) -> bool:
        """Void an unused label (idempotent); False when the carrier already scanned it."""
        carrier = self._carriers.get(inp.carrier)
        if carrier is None:
            business_error(UNKNOWN_CARRIER, f"no carrier {inp.carrier!r} configured")
        try:
            await carrier.void_label(label_id=inp.label_id)
        except LabelAlreadyUsed:
            log.warning(
                "label already scanned; cannot void", order_id=inp.order_id, label_id=inp.label_id
            )
            return False
        except IntegrationError as err:
            await call(_reraise(err))
        log.info("label voided", order_id=inp.order_id, label_id=inp.label_id)
        return True

    @activity.defn
    async def poll_tracking(self, inp: io.PollTrackingInput) -> io.TrackingResult:
        """Ask the carrier where the parcel is; new events go on the order's timeline."""
        carrier = self._carriers[inp.carrier]
        info = await call(carrier.track(inp.tracking_number))
        events = [
            io.TrackingEventOut(
                at=e.at, status=e.status, description=e.description, location=e.location
            )
            for e in info.events
        ]
        timeline = [
            TimelineEvent(
                key=f"track:{inp.shipment_id}:{e.status}:{e.at.isoformat()}",
                at=e.at,
                type=carrier_scan(e.status),
                detail={
                    "shipment_id": inp.shipment_id,
                    "description": e.description,
                    "location": e.location,
                    "tracking_number": inp.tracking_number,
                },
            )
            for e in events
        ]
        async with self._sessions.begin() as session:
            await event_store.append(session, inp.order_id, timeline)
        return io.TrackingResult(
            status=info.status,
            events=events,
            delivered_at=info.delivered_at,
            exception_reason=info.exception_reason,
        )

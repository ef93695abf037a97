"""The public tracking page's lookup: one parcel's carrier scans, found by tracking number."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from store.tables import OrderEvent, OrderShipment

# Longest tracking number `order_shipments` stores; anything longer is no parcel of ours.
MAX_TRACKING_NUMBER = 128


async def parcel_scans(session: AsyncSession, tracking_number: str) -> list[OrderEvent]:
    """The carrier's scans of the parcel, oldest first; `NotFound` while there are none."""
    if not tracking_number or len(tracking_number) > MAX_TRACKING_NUMBER:
        raise _none_yet()
    if "\x00" in tracking_number:  # PostgreSQL refuses NUL in text; no number contains one
        raise _none_yet()
    # The shipment index finds the order; its timeline index then serves the rest.
    orders = select(OrderShipment.order_id).where(OrderShipment.tracking_number == tracking_number)
    stmt = (
        select(OrderEvent)
        .where(
            OrderEvent.order_id.in_(orders),
            OrderEvent.type.startswith("carrier_", autoescape=True),
            # A relabelled shipment's old parcel keeps its scans on the same timeline.
            OrderEvent.detail["tracking_number"].as_string() == tracking_number,
        )
        .order_by(OrderEvent.at, OrderEvent.id)
    )
    scans = list((await session.scalars(stmt)).all())
    if not scans:
        raise _none_yet()
    return scans


def _none_yet() -> NotFound:
    return NotFound("no tracking information yet for that number", field="tracking_number")

"""The customer's tracking page finds its parcel however many scans other parcels have."""

from __future__ import annotations

from datetime import timedelta

from domain.order_state import TimelineEvent
from store import events as event_store
from tests.api.conftest import ReadApi
from tests.read_model import T0


def scan(n: int, shipment_id: str, tracking_number: str, minutes: int, what: str) -> TimelineEvent:
    """A carrier scan as the tracking activity writes it."""
    return TimelineEvent(
        key=f"track:{shipment_id}:{n}",
        at=T0 + timedelta(minutes=minutes),
        type="carrier_in_transit",
        detail={
            "shipment_id": shipment_id,
            "description": what,
            "location": "Louisville, KY",
            "tracking_number": tracking_number,
        },
    )


async def test_a_parcel_is_found_past_two_thousand_older_scans(read_api: ReadApi) -> None:
    others = [await read_api.orders.order(n, location="WH-WEST", tracking_number=f"1ZO{n}")
              for n in range(3)]  # fmt: skip
    busy = [
        (others[n % 3], scan(n, f"{others[n % 3]}-S1", f"1ZO{n % 3}", n, f"other scan {n}"))
        for n in range(2100)
    ]
    async with read_api.orders.sessions.begin() as session:
        await event_store.append_many(session, busy)
    order_id = await read_api.orders.order(10, location="WH-EAST", tracking_number="1ZPARCEL")
    shipment = f"{order_id}-S1"
    async with read_api.orders.sessions.begin() as session:
        await event_store.append(
            session,
            order_id,
            [
                scan(2, shipment, "1ZPARCEL", 3000, "Out for delivery"),
                scan(1, shipment, "1ZPARCEL", 2500, "Departed facility"),
                # The same order's voided first label: another parcel, not shown here.
                scan(3, shipment, "1ZVOIDED", 2400, "Label created"),
            ],
        )
    page = await read_api.http.get("/track/1ZPARCEL")
    assert page.status_code == 200, page.text
    assert page.text.index("Departed facility") < page.text.index("Out for delivery")
    assert "other scan" not in page.text and "Label created" not in page.text
    missing = await read_api.http.get("/track/1ZNOSUCH")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert (await read_api.http.get("/track/1Z%00X")).status_code == 404

"""Cancel and reroute act on what has not shipped; a WMS hears 409, never 500.

The warehouse is driven by hand (`OMS_SANDBOX_WAREHOUSE=false`): the test posts the WMS's
events to the API. A split order: JACKET-M is stocked only in the east; HOODIE-M is taken out
of the east, so the two lines must leave from two warehouses.
"""

from __future__ import annotations

import asyncio
from typing import Any

from store.tables import StockLevel
from tests.conftest import Stack, canonical_order
from tests.helpers import eventually

SPLIT = [
    {"line_id": "1", "sku": "JACKET-M", "quantity": 1, "unit_price": "129.00"},
    {"line_id": "2", "sku": "HOODIE-M", "quantity": 1, "unit_price": "54.00"},
]


async def split_order(stack: Stack) -> tuple[str, dict[str, str]]:
    """A two-shipment order, both released; returns its id and shipment id per SKU."""
    async with stack.sessions() as session:
        east = await session.get(StockLevel, ("HOODIE-M", "WH-EAST"))
        assert east is not None
        units = east.on_hand - east.reserved
    response = await stack.post(
        "/v1/inventory/adjustments",
        {"sku": "HOODIE-M", "location_id": "WH-EAST", "delta": -units, "reason": "damaged"},
    )
    assert response.status_code == 200, response.text
    response = await stack.post("/v1/orders", canonical_order(lines=SPLIT))
    assert response.status_code == 202, response.text
    order_id = response.json()["order_id"]

    async def both_released() -> dict[str, Any] | None:
        order = await stack.order(order_id)
        live = [s for s in order["shipments"] if s["status"] == "released"]
        return order if len(live) == 2 else None

    order = await eventually(both_released, timeout=60, message="the split never released")
    by_sku = {s["lines"][0]["sku"]: s["shipment_id"] for s in order["shipments"]}
    return order_id, by_sku


async def ship(stack: Stack, shipment_id: str) -> int:
    response = await stack.post(f"/v1/shipments/{shipment_id}/events", {"type": "shipped"})
    return response.status_code


async def test_cancel_after_one_parcel_shipped_stops_the_other(manual_stack: Stack) -> None:
    stack = manual_stack
    order_id, shipments = await split_order(stack)
    assert await ship(stack, shipments["JACKET-M"]) == 202
    await stack.wait_shipment(
        order_id, lambda s: s["shipment_id"] == shipments["JACKET-M"] and s["status"] != "released"
    )
    response = await stack.post(f"/v1/orders/{order_id}/cancel", {"reason": "customer asked"})
    assert response.status_code == 200, response.text
    order = response.json()
    by_id = {s["shipment_id"]: s for s in order["shipments"]}
    assert by_id[shipments["HOODIE-M"]]["status"] == "cancelled"
    assert by_id[shipments["HOODIE-M"]]["label_voided"]
    assert by_id[shipments["JACKET-M"]]["status"] != "cancelled"
    assert order["status"] == "shipped"
    assert "partially_cancelled" in [e["type"] for e in order["events"]]
    kinds = [p["kind"] for p in order["payments"]]
    assert kinds == ["authorization", "capture", "void"], kinds
    # The cancelled parcel's shipped report is refused for the WMS to stop it.
    assert await ship(stack, shipments["HOODIE-M"]) == 409
    # The shipped parcel goes on to the door.
    await stack.wait_for(order_id, "delivered", "completed")


async def test_reroute_after_one_parcel_shipped_moves_the_other(manual_stack: Stack) -> None:
    stack = manual_stack
    order_id, shipments = await split_order(stack)
    assert await ship(stack, shipments["JACKET-M"]) == 202
    hoodie = shipments["HOODIE-M"]
    order = await stack.order(order_id)
    origin = next(s["location_id"] for s in order["shipments"] if s["shipment_id"] == hoodie)
    response = await stack.post(
        f"/v1/orders/{order_id}/reroute", {"exclude_locations": [origin], "reason": "backlog"}
    )
    assert response.status_code == 200, response.text
    order = response.json()
    live = [s for s in order["shipments"] if s["status"] != "cancelled"]
    assert sorted(s["lines"][0]["sku"] for s in live) == ["HOODIE-M", "JACKET-M"]
    moved = next(s for s in live if s["lines"][0]["sku"] == "HOODIE-M")
    assert moved["location_id"] not in (origin, "WH-EAST")


async def test_a_wms_event_for_a_finished_order_is_409(manual_stack: Stack) -> None:
    stack = manual_stack
    response = await stack.post("/v1/orders", canonical_order())
    order_id = response.json()["order_id"]
    order = await stack.wait_shipment(order_id, lambda s: s["status"] == "released")
    shipment_id = order["shipments"][0]["shipment_id"]
    assert (await stack.post(f"/v1/orders/{order_id}/cancel", {"reason": "x"})).status_code == 200
    await stack.wait_for(order_id, "cancelled")
    for kind in ("picked", "shipped"):
        refused = await stack.post(f"/v1/shipments/{shipment_id}/events", {"type": kind})
        assert refused.status_code == 409, refused.text
        assert refused.json()["message"]
    unknown = await stack.post(f"/v1/shipments/{order_id}-S9/events", {"type": "shipped"})
    assert unknown.status_code == 404


async def test_reroute_validates_replaces_and_clears_exclusions(manual_stack: Stack) -> None:
    stack = manual_stack
    response = await stack.post("/v1/orders", canonical_order())
    order_id = response.json()["order_id"]
    await stack.wait_shipment(order_id, lambda s: s["status"] == "released")
    unknown = await stack.post(
        f"/v1/orders/{order_id}/reroute", {"exclude_locations": ["WH-MARS"], "reason": "x"}
    )
    assert unknown.status_code == 422, unknown.text
    assert "exclude_locations[0]" in unknown.json()["message"]
    everywhere = await stack.post(
        f"/v1/orders/{order_id}/reroute",
        {"exclude_locations": ["WH-EAST", "WH-CENTRAL", "WH-WEST", "STORE-CHI"], "reason": "x"},
    )
    assert everywhere.status_code == 422, everywhere.text
    first = await stack.post(
        f"/v1/orders/{order_id}/reroute", {"exclude_locations": ["WH-CENTRAL"], "reason": "x"}
    )
    assert first.status_code == 200, first.text
    second = await stack.post(
        f"/v1/orders/{order_id}/reroute", {"exclude_locations": ["WH-WEST"], "reason": "y"}
    )
    assert second.status_code == 200, second.text
    cleared = await stack.post(f"/v1/orders/{order_id}/reroute", {"exclude_locations": []})
    assert cleared.status_code == 200, cleared.text
    events = [e for e in cleared.json()["events"] if e["type"] == "reroute_requested"]
    assert [e["detail"]["exclude_locations"] for e in events] == [["WH-CENTRAL"], ["WH-WEST"], []]


async def test_countries_not_served_and_free_orders_are_settled_up_front(stack: Stack) -> None:
    canada = canonical_order(
        ship_to={
            "name": "Ann Lee",
            "line1": "1 Main St",
            "city": "Toronto",
            "region": "ON",
            "postal_code": "M5V 2T6",
            "country": "CA",
        }
    )
    refused = await stack.post("/v1/orders", canada)
    assert refused.status_code == 422, refused.text
    assert "ship_to.country" in refused.json()["message"]
    free = canonical_order(
        lines=[{"line_id": "1", "sku": "TSHIRT-M", "quantity": 1, "unit_price": "0.00"}]
    )
    accepted = await stack.post("/v1/orders", free)
    assert accepted.status_code == 202, accepted.text
    order = await stack.wait_for(accepted.json()["order_id"], "delivered", "completed")
    assert order["payments"] == []
    assert "payment_not_required" in [e["type"] for e in order["events"]]


async def test_unknown_service_is_refused(stack: Stack) -> None:
    response = await stack.post("/v1/orders", canonical_order(shipping_service="teleport"))
    assert response.status_code == 422
    assert "shipping_service" in response.json()["message"]


async def test_a_label_is_voidable_until_the_parcel_is_handed_over(manual_stack: Stack) -> None:
    """The carrier scans at hand-over (the warehouse's `shipped`), not on a timer."""
    stack = manual_stack
    response = await stack.post("/v1/orders", canonical_order())
    order_id = response.json()["order_id"]
    order = await stack.wait_shipment(order_id, lambda s: s["status"] == "released")
    origin = order["shipments"][0]["location_id"]
    # Long past the business hours after which the old sandbox scanned labels by itself.
    await asyncio.sleep(3)
    response = await stack.post(
        f"/v1/orders/{order_id}/reroute", {"exclude_locations": [origin], "reason": "backlog"}
    )
    assert response.status_code == 200, response.text
    moved = response.json()
    [old] = [s for s in moved["shipments"] if s["location_id"] == origin]
    assert old["status"] == "cancelled" and old["label_voided"], old
    assert not [e for e in moved["events"] if e["type"] == "alert"], moved["events"]

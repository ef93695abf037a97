"""Backorders under real operations: oldest first, partial shipments, large orders, restocks.

The demo seed stocks every SKU at three warehouses (and a few at the Chicago store); tests
empty a SKU with adjustments to make it short, then bring stock back the way ops would.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from store.tables import Backorder, Reservation, Sku, StockLevel
from tests.conftest import Stack, canonical_order
from tests.helpers import eventually

WAREHOUSES = ("WH-EAST", "WH-CENTRAL", "WH-WEST", "STORE-CHI")


async def empty(stack: Stack, sku: str) -> None:
    """Take every available unit of `sku` off the shelves (a count found them missing)."""
    async with stack.sessions() as session:
        levels = list(await session.scalars(select(StockLevel).where(StockLevel.sku == sku)))
    for level in levels:
        if level.on_hand - level.reserved:
            response = await stack.post(
                "/v1/inventory/adjustments",
                {
                    "sku": sku,
                    "location_id": level.location_id,
                    "delta": -(level.on_hand - level.reserved),
                    "reason": "cycle count",
                },
            )
            assert response.status_code == 200, response.text


async def receive(stack: Stack, sku: str, units: int, location: str = "WH-CENTRAL") -> None:
    # Safety stock (2 per location in the seed) is kept back from available-to-promise.
    response = await stack.post(
        "/v1/inventory/receipts",
        {"sku": sku, "location_id": location, "quantity": units, "reference": "PO-1"},
    )
    assert response.status_code == 200, response.text


async def place(stack: Stack, lines: list[dict[str, Any]], external_id: str | None = None) -> str:
    response = await stack.post("/v1/orders", canonical_order(external_id, lines=lines))
    assert response.status_code == 202, response.text
    return response.json()["order_id"]  # type: ignore[no-any-return]


def line(line_id: str, sku: str, quantity: int, price: str = "10.00") -> dict[str, Any]:
    return {"line_id": line_id, "sku": sku, "quantity": quantity, "unit_price": price}


async def status(stack: Stack, order_id: str) -> str:
    return str((await stack.order(order_id))["status"])


async def test_oldest_backorder_is_served_first_even_when_younger_ones_fit(stack: Stack) -> None:
    await empty(stack, "BEANIE")
    older = await place(stack, [line("1", "BEANIE", 2)])
    await stack.wait_for(older, "backordered")
    younger = [await place(stack, [line("1", "BEANIE", 1)]) for _ in range(2)]
    for order_id in younger:
        await stack.wait_for(order_id, "backordered")
    # Two units arrive (plus the location's safety stock, which is never promised).
    await receive(stack, "BEANIE", 2 + 2)
    await stack.wait_for(older, "in_fulfillment", "shipped", "delivered", "completed")
    for order_id in younger:
        assert await status(stack, order_id) == "backordered"
    # The next unit goes to the older of the two younger orders.
    await receive(stack, "BEANIE", 1)
    await stack.wait_for(younger[0], "in_fulfillment", "shipped", "delivered", "completed")
    assert await status(stack, younger[1]) == "backordered"


async def test_a_partial_arrival_is_kept_for_the_oldest_line(stack: Stack) -> None:
    await empty(stack, "BEANIE")
    older = await place(stack, [line("1", "BEANIE", 2)])
    await stack.wait_for(older, "backordered")
    younger = await place(stack, [line("1", "BEANIE", 1)])
    await stack.wait_for(younger, "backordered")
    await receive(stack, "BEANIE", 2 + 1)  # one unit: the older line takes it and keeps waiting
    await eventually(lambda: set_aside(stack, older), timeout=30)
    assert await status(stack, younger) == "backordered"
    assert await status(stack, older) == "backordered"
    await receive(stack, "BEANIE", 1)
    await stack.wait_for(older, "in_fulfillment", "shipped", "delivered", "completed")
    assert await status(stack, younger) == "backordered"


async def set_aside(stack: Stack, order_id: str) -> int:
    async with stack.sessions() as session:
        rows = await session.scalars(
            select(Reservation.quantity).where(
                Reservation.order_id == order_id,
                Reservation.hold_id == "waiting",
                Reservation.status == "held",
            )
        )
        return sum(rows)


async def test_in_stock_lines_ship_while_a_short_line_waits(stack: Stack) -> None:
    await empty(stack, "BEANIE")
    order_id = await place(stack, [line("1", "TSHIRT-M", 1, "19.99"), line("2", "BEANIE", 1)])
    order = await stack.wait_shipment(order_id, lambda s: s["status"] in ("shipped", "delivered"))
    [first] = order["shipments"]
    assert [x["line_id"] for x in first["lines"]] == ["1"]
    assert "partially_backordered" in [e["type"] for e in order["events"]]
    await receive(stack, "BEANIE", 3)
    done = await stack.wait_for(order_id, "delivered", "completed")
    assert sorted(x["line_id"] for s in done["shipments"] for x in s["lines"]) == ["1", "2"]
    captured = sum(float(p["amount"]) for p in done["payments"] if p["kind"] == "capture")
    assert round(captured, 2) == float(done["total"])


async def test_a_large_order_ships_what_it_can_line_by_line(stack: Stack) -> None:
    async with stack.sessions.begin() as session:
        for n in range(30):
            session.add(Sku(sku=f"BULK-{n:02}", name=f"Bulk item {n}", weight_grams=100))
    for n in range(30):
        if n < 24:
            await receive(stack, f"BULK-{n:02}", 5, WAREHOUSES[n % 3])
    lines = [line(str(n), f"BULK-{n:02}", 1) for n in range(30)]
    order_id = await place(stack, lines)

    async def planned() -> list[str] | None:
        order = await stack.order(order_id)
        placed = sorted(x["line_id"] for s in order["shipments"] for x in s["lines"])
        return placed if len(placed) == 24 else None

    placed = await eventually(planned, timeout=90, message="the allocatable lines never shipped")
    assert placed == sorted(str(n) for n in range(24))
    async with stack.sessions() as session:
        queued = sorted(
            await session.scalars(select(Backorder.line_id).where(Backorder.order_id == order_id))
        )
    assert queued == sorted(str(n) for n in range(24, 30))


async def test_a_return_restock_goes_to_the_oldest_backorder(stack: Stack) -> None:
    delivered = await place(stack, [line("1", "BEANIE", 1)])
    order = await stack.wait_for(delivered, "delivered")
    location = order["shipments"][0]["location_id"]
    await empty(stack, "BEANIE")
    # The location keeps its safety stock: top it up so a returned unit is promisable.
    await receive(stack, "BEANIE", 2, location)
    older = await place(stack, [line("1", "BEANIE", 2)])
    await stack.wait_for(older, "backordered")
    younger = await place(stack, [line("1", "BEANIE", 1)])
    await stack.wait_for(younger, "backordered")
    rma = await stack.post(
        f"/v1/orders/{delivered}/returns",
        {"lines": [{"line_id": "1", "quantity": 1, "reason": "changed_mind"}]},
    )
    assert rma.status_code == 201, rma.text
    received = await stack.post(
        f"/v1/returns/{rma.json()['rma_id']}/receive",
        {"lines": [{"line_id": "1", "quantity": 1, "condition": "new"}]},
    )
    assert received.status_code == 200, received.text
    # The restocked unit is set aside for the older order (it needs two), not sold to the
    # younger one that one unit would complete.
    await eventually(lambda: set_aside(stack, older), timeout=30)
    assert await status(stack, younger) == "backordered"
    await receive(stack, "BEANIE", 1, location)
    await stack.wait_for(older, "in_fulfillment", "shipped", "delivered", "completed")
    assert await status(stack, younger) == "backordered"

"""Inventory through real orders: no oversell, backorders released in order, reroute, no leaks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.client import Client

from store import inventory
from store.tables import Location, Reservation, Sku, StockLevel
from tests.conftest import Stack, canonical_order, running_stack
from tests.helpers import eventually
from tests.workflows.test_order_workflow import ops

HOT = "HOT-DROP"


async def add_hot_sku(stack: Stack, units: int, location: str = "WH-EAST") -> None:
    async with stack.sessions.begin() as session:
        session.add(Sku(sku=HOT, name="limited drop", weight_grams=300))
        await session.flush()
        await inventory.adjust(session, HOT, location, units, "drop", kind="receipt")


async def level(stack: Stack, sku: str, location: str) -> StockLevel:
    async with stack.sessions() as session:
        row = await session.get(StockLevel, (sku, location))
        assert row is not None
        return row


def hot_order(**extra: Any) -> dict[str, Any]:
    return canonical_order(
        lines=[{"line_id": "1", "sku": HOT, "quantity": 1, "unit_price": "50.00"}], **extra
    )


async def statuses(stack: Stack, ids: list[str]) -> list[str]:
    """Statuses from the read model in one query (polling 150 orders one by one is slow)."""
    from store.tables import Order

    async with stack.sessions() as session:
        rows = dict(
            (
                await session.execute(
                    select(Order.order_id, Order.status).where(Order.order_id.in_(ids))
                )
            ).all()
        )
    return [rows[i] for i in ids]


async def wait_all(stack: Stack, ids: list[str], done: set[str], timeout: float = 240) -> None:
    await eventually(
        lambda: statuses(stack, ids),
        until=lambda current: all(s in done for s in current),
        timeout=timeout,
        interval=0.5,
        message=lambda current: f"not settled: {sorted(set(current or []))}",
    )


@pytest.fixture(params=["sqlite", "postgresql"])
async def flash_stack(
    request: pytest.FixtureRequest, temporal_client: Client, tmp_path: Path
) -> Any:
    """A stack on each database, the warehouse manual so reserved stock stays reserved."""
    from tests.conftest import drop_postgres, fresh_postgres, postgres_url

    if request.param == "sqlite":
        url, name = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}", None
    else:
        base = postgres_url()
        if not base:
            pytest.skip("PostgreSQL not available (run through `make test`)")
        url, name = await fresh_postgres(base)
    try:
        async with running_stack(
            temporal_client, url, auto_warehouse=False, time_scale=0.0005
        ) as stack:
            yield stack
    finally:
        if name:
            await drop_postgres(postgres_url() or "", name)


@pytest.mark.timeout(900)
async def test_150_orders_for_50_units_never_oversell(flash_stack: Stack) -> None:
    stack = flash_stack
    await add_hot_sku(stack, 50)
    sem = asyncio.Semaphore(25)

    async def submit() -> str:
        async with sem:
            response = await stack.post("/v1/orders", hot_order())
            assert response.status_code == 202, response.text
            return response.json()["order_id"]  # type: ignore[no-any-return]

    ids = await asyncio.gather(*(submit() for _ in range(150)))
    await wait_all(stack, ids, {"in_fulfillment", "backordered"})
    current = await statuses(stack, ids)
    assert current.count("in_fulfillment") == 50
    assert current.count("backordered") == 100
    row = await level(stack, HOT, "WH-EAST")
    assert (row.on_hand, row.reserved) == (50, 50)
    inv = (await stack.get(f"/v1/inventory/{HOT}")).json()
    assert inv["available"] == 0 and all(x["available"] >= 0 for x in inv["locations"])

    # A receipt of 100 units releases every backorder.
    receipt = await stack.post(
        "/v1/inventory/receipts",
        {"sku": HOT, "location_id": "WH-EAST", "quantity": 100, "reference": "PO-1"},
    )
    assert receipt.status_code == 200, receipt.text
    await wait_all(stack, ids, {"in_fulfillment"})
    row = await level(stack, HOT, "WH-EAST")
    assert (row.on_hand, row.reserved) == (150, 150)


async def test_backorder_deadline_cancels_and_voids(
    temporal_client: Client, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with running_stack(
        temporal_client, url, auto_warehouse=False, time_scale=0.0005, backorder_deadline_hours=2.0
    ) as stack:
        await add_hot_sku(stack, 0)
        response = await stack.post("/v1/orders", hot_order())
        order_id = response.json()["order_id"]
        order = await stack.wait_for(order_id, "cancelled", timeout=60)
        assert "backorder deadline" in (order["failure_reason"] or "")
        assert "backordered" in [e["type"] for e in order["events"]]
        assert await ops(stack, order_id) == ["authorize", "void"]


@pytest.fixture
async def slow_carrier_stack(temporal_client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    """`manual_stack` whose carriers keep real time: a label stays voidable however slow the
    machine (at the test time scale the carrier scans it within seconds)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with running_stack(
        temporal_client, url, auto_warehouse=False, carrier_time_scale=1.0
    ) as stack:
        yield stack


async def test_reroute_moves_the_work_and_is_refused_after_shipping(
    slow_carrier_stack: Stack,
) -> None:
    stack = slow_carrier_stack
    response = await stack.post("/v1/orders", canonical_order())
    order_id = response.json()["order_id"]
    order = await stack.wait_shipment(order_id, lambda s: s["status"] == "released")
    first = order["shipments"][0]
    before = await level(stack, "TSHIRT-M", first["location_id"])
    rerouted = await stack.post(
        f"/v1/orders/{order_id}/reroute",
        {"exclude_locations": [first["location_id"]], "reason": "flooded"},
    )
    assert rerouted.status_code == 200, rerouted.text
    order = await stack.wait_shipment(
        order_id, lambda s: s["status"] == "released" and s["shipment_id"] != first["shipment_id"]
    )
    old = next(s for s in order["shipments"] if s["shipment_id"] == first["shipment_id"])
    new = next(s for s in order["shipments"] if s["status"] == "released")
    assert old["status"] == "cancelled" and new["location_id"] != first["location_id"]
    assert (await level(stack, "TSHIRT-M", first["location_id"])).reserved == before.reserved - 2
    types = [e["type"] for e in order["events"]]
    assert "rerouted" in types and "label_voided" in types
    await stack.post(f"/v1/shipments/{new['shipment_id']}/events", {"type": "shipped"})
    await stack.wait_for(order_id, "shipped", "delivered", "completed")
    refused = await stack.post(f"/v1/orders/{order_id}/reroute", {"exclude_locations": []})
    assert refused.status_code == 409 and "shipped" in refused.json()["message"]


@pytest.mark.timeout(900)
async def test_no_reservation_leaks_after_a_mix_of_outcomes(manual_stack: Stack) -> None:
    """Cancels, declines and reroutes: what stays reserved is exactly what open orders hold."""
    stack = manual_stack
    sem = asyncio.Semaphore(20)
    kinds = ["open", "cancel", "decline", "reroute"]

    async def one(i: int) -> tuple[str, str]:
        kind = kinds[i % 4]
        token = "tok_chargeDeclined" if kind == "decline" else "tok_visa"
        sku = ["TSHIRT-S", "TSHIRT-M", "CAP-BLK", "MUG-12OZ"][i % 4 if kind != "decline" else 0]
        body = canonical_order(
            lines=[{"line_id": "1", "sku": sku, "quantity": 1, "unit_price": "10.00"}],
            payment={"method": "card", "token": token},
        )
        async with sem:
            response = await stack.post("/v1/orders", body)
            order_id = response.json()["order_id"]
            if kind == "decline":
                await stack.wait_for(order_id, "failed")
                return kind, order_id
            order = await stack.wait_shipment(order_id, lambda s: s["status"] == "released")
            if kind == "cancel":
                assert (await stack.post(f"/v1/orders/{order_id}/cancel", {})).status_code == 200
            elif kind == "reroute":
                loc = order["shipments"][0]["location_id"]
                result = await stack.post(
                    f"/v1/orders/{order_id}/reroute", {"exclude_locations": [loc]}
                )
                assert result.status_code == 200, result.text
            return kind, order_id

    outcomes = await asyncio.gather(*(one(i) for i in range(200)))
    open_ids = [oid for kind, oid in outcomes if kind in ("open", "reroute")]
    async with stack.sessions() as session:
        reserved = await session.scalar(select(func.sum(StockLevel.reserved)))
        held = await session.scalar(
            select(func.sum(Reservation.quantity)).where(Reservation.status == "held")
        )
        held_orders = set(
            await session.scalars(select(Reservation.order_id).where(Reservation.status == "held"))
        )
        locations = (await session.scalars(select(Location.location_id))).all()
    assert reserved == held == len(open_ids)
    assert held_orders == set(open_ids)
    assert locations

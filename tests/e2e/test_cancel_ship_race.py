"""A cancel racing the warehouse's `shipped`, with the warehouse driven by hand (a WMS posting
to the API). Whatever the interleaving, the answers and the outcome must agree:

- cancel 200 => nothing shipped: the `shipped` was refused (409), label voided, authorization
  voided, stock back;
- cancel 409 => it shipped: the `shipped` was accepted, the shipment captured, its label live.

And no shipped parcel ever has a voided label or a voided payment.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from sqlalchemy import func, select

from store.tables import StockLevel
from tests.conftest import Stack, canonical_order
from tests.helpers import eventually

RUNS = 50
AT_ONCE = 5


async def reserved(stack: Stack, sku: str) -> int:
    async with stack.sessions() as session:
        total = await session.scalar(
            select(func.sum(StockLevel.reserved)).where(StockLevel.sku == sku)
        )
        return int(total or 0)


async def released_order(stack: Stack) -> tuple[str, str]:
    response = await stack.post("/v1/orders", canonical_order())
    assert response.status_code == 202, response.text
    order_id = response.json()["order_id"]
    order = await stack.wait_shipment(order_id, lambda s: s["status"] == "released")
    return order_id, order["shipments"][0]["shipment_id"]


async def race(stack: Stack, rng: random.Random) -> dict[str, Any]:
    """One order: cancel and `shipped` sent at nearly the same moment, in a random order."""
    order_id, shipment_id = await released_order(stack)

    async def cancel() -> int:
        await asyncio.sleep(rng.uniform(0, 0.03))
        response = await stack.post(f"/v1/orders/{order_id}/cancel", {"reason": "race"})
        return response.status_code

    async def shipped() -> int:
        await asyncio.sleep(rng.uniform(0, 0.03))
        response = await stack.post(f"/v1/shipments/{shipment_id}/events", {"type": "shipped"})
        return response.status_code

    cancel_status, shipped_status = await asyncio.gather(cancel(), shipped())
    return {
        "order_id": order_id,
        "cancel": cancel_status,
        "shipped": shipped_status,
    }


async def settled(stack: Stack, order_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        order = await stack.order(order_id)
        return (
            order if order["status"] in ("cancelled", "shipped", "delivered", "completed") else None
        )

    return await eventually(done, timeout=60, message=f"order {order_id} never settled")


async def test_cancel_racing_shipped_always_agrees(manual_stack: Stack) -> None:
    stack = manual_stack
    rng = random.Random(20261202)
    before = await reserved(stack, "TSHIRT-M")
    outcomes: list[dict[str, Any]] = []
    for _ in range(RUNS // AT_ONCE):
        outcomes += await asyncio.gather(*(race(stack, rng) for _ in range(AT_ONCE)))
    for outcome in outcomes:
        assert outcome["cancel"] in (200, 409), outcome
        order = await settled(stack, outcome["order_id"])
        [shipment] = order["shipments"]
        kinds = [p["kind"] for p in order["payments"]]
        if outcome["cancel"] == 200:
            assert outcome["shipped"] == 409, outcome
            assert order["status"] == "cancelled", outcome
            assert shipment["status"] == "cancelled" and shipment["label_voided"], outcome
            assert kinds == ["authorization", "void"], (outcome, kinds)
        else:
            assert outcome["shipped"] == 202, outcome
            assert order["status"] in ("shipped", "delivered", "completed"), outcome
            assert "capture" in kinds and "void" not in kinds, (outcome, kinds)
            assert not shipment["label_voided"], outcome
    cancelled = sum(1 for o in outcomes if o["cancel"] == 200)
    print(f"race: {cancelled} cancelled, {len(outcomes) - cancelled} shipped")
    # Stock: every cancelled order gave its units back; every shipped one took them off hand.
    assert await reserved(stack, "TSHIRT-M") == before

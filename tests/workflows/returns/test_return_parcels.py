"""Returns that match the goods: parcels, reasons, and exchanges that depend on what came back."""

from __future__ import annotations

from tests.conftest import Stack
from tests.workflows.returns.conftest import delivered_order, movements, on_hand, wait_rma
from tests.workflows.returns.test_returns import receive, request

TEN = [{"line_id": "1", "sku": "TSHIRT-M", "quantity": 10, "unit_price": "10.00"}]


async def test_an_rma_takes_several_parcels_until_every_unit_is_in(returns_stack: Stack) -> None:
    stack = returns_stack
    order = await delivered_order(stack, lines=TEN)
    order_id = order["order_id"]
    rma = await request(stack, order_id, {"line_id": "1", "quantity": 10, "reason": "too_big"})
    first = await receive(stack, rma["rma_id"], {"line_id": "1", "quantity": 5, "condition": "new"})
    assert first["status"] == "partially_received"
    assert first["lines"][0]["received_quantity"] == 5
    partial = await stack.wait_for(order_id, "partially_returned")
    refunds = [p for p in partial["payments"] if p["kind"] == "refund"]
    assert [r["amount"] for r in refunds] == ["50.00"]
    # The second parcel is taken, not refused; more than was authorised is.
    too_many = await stack.post(
        f"/v1/returns/{rma['rma_id']}/receive",
        {"lines": [{"line_id": "1", "quantity": 6, "condition": "new"}]},
    )
    assert too_many.status_code == 409 and "5 already received" in too_many.json()["message"]
    await receive(stack, rma["rma_id"], {"line_id": "1", "quantity": 5, "condition": "new"})
    closed = await wait_rma(stack, rma["rma_id"], "closed")
    assert closed["refund_amount"] == "100.00"
    done = await stack.wait_for(order_id, "returned")
    refunds = [p["amount"] for p in done["payments"] if p["kind"] == "refund"]
    assert refunds == ["50.00", "50.00"]


async def test_a_defective_unit_in_new_condition_is_not_restocked(returns_stack: Stack) -> None:
    stack = returns_stack
    order = await delivered_order(stack)
    order_id, location = order["order_id"], order["shipments"][0]["location_id"]
    before = await on_hand(stack, "TSHIRT-M", location)
    rma = await request(stack, order_id, {"line_id": "1", "quantity": 1, "reason": "defective"})
    inspected = await receive(
        stack, rma["rma_id"], {"line_id": "1", "quantity": 1, "condition": "new"}
    )
    assert inspected["lines"][0]["disposition"] == "inspect"
    await wait_rma(stack, rma["rma_id"], "closed")
    assert await on_hand(stack, "TSHIRT-M", location) == before
    assert await movements(stack, "TSHIRT-M", location, "return") == []
    assert len(await movements(stack, "TSHIRT-M", location, "inspection")) == 1


async def test_no_replacement_ships_for_an_item_the_customer_damaged(returns_stack: Stack) -> None:
    stack = returns_stack
    order = await delivered_order(stack)
    order_id = order["order_id"]
    rma = await request(
        stack,
        order_id,
        {"line_id": "1", "quantity": 1, "reason": "style", "exchange_sku": "TSHIRT-L"},
    )
    await receive(stack, rma["rma_id"], {"line_id": "1", "quantity": 1, "condition": "damaged"})
    closed = await wait_rma(stack, rma["rma_id"], "closed")
    assert closed["replacement_shipment_id"] is None
    # Refunded as a plain return instead.
    assert closed["refund_amount"] == "19.99"
    final = await stack.order(order_id)
    assert not [s for s in final["shipments"] if s["shipment_id"].startswith("RMA-")]


async def test_a_defective_item_is_still_exchanged(returns_stack: Stack) -> None:
    stack = returns_stack
    order = await delivered_order(stack)
    order_id = order["order_id"]
    rma = await request(
        stack,
        order_id,
        {"line_id": "1", "quantity": 1, "reason": "defective", "exchange_sku": "TSHIRT-L"},
    )
    await receive(stack, rma["rma_id"], {"line_id": "1", "quantity": 1, "condition": "damaged"})
    closed = await wait_rma(stack, rma["rma_id"], "closed")
    assert closed["replacement_shipment_id"]
    assert closed["refund_amount"] == "0.00"

"""Terminated order runs: the sweeper releases their stock, labels and payment hold."""

from __future__ import annotations

from sqlalchemy import func, select

from activities.io import SweepInput, SweepResult
from store.tables import Backorder, Reservation, StockLevel
from tests.conftest import Stack, canonical_order
from workflows.sweeper import OrderSweepWorkflow


async def reserved(stack: Stack, sku: str) -> int:
    async with stack.sessions() as session:
        total = await session.scalar(
            select(func.sum(StockLevel.reserved)).where(StockLevel.sku == sku)
        )
        return int(total or 0)


async def sweep(stack: Stack) -> SweepResult:
    return await stack.client.execute_workflow(
        OrderSweepWorkflow.run,
        SweepInput(task_queue=stack.settings.task_queue),
        id=f"sweep-{stack.settings.task_queue}",
        task_queue=stack.settings.task_queue,
    )


async def test_a_terminated_order_is_released_by_the_sweeper(manual_stack: Stack) -> None:
    stack = manual_stack
    before = await reserved(stack, "TSHIRT-M")
    response = await stack.post("/v1/orders", canonical_order())
    accepted = response.json()
    await stack.wait_shipment(accepted["order_id"], lambda s: s["status"] == "released")
    assert await reserved(stack, "TSHIRT-M") == before + 2
    handle = stack.client.get_workflow_handle(accepted["workflow_id"])
    await handle.terminate(reason="operator error")

    refused = await stack.post(f"/v1/orders/{accepted['order_id']}/cancel", {"reason": "x"})
    assert refused.status_code == 409

    result = await sweep(stack)
    assert result.swept == [accepted["order_id"]]
    assert await reserved(stack, "TSHIRT-M") == before
    swept = await stack.order(accepted["order_id"])
    assert swept["status"] == "failed"
    assert "terminated" in swept["failure_reason"]
    assert any(e["type"] == "alert" for e in swept["events"])
    # A second sweep finds nothing left to do (each step is idempotent anyway).
    assert (await sweep(stack)).swept == []


async def test_a_terminated_backorder_leaves_the_queue(stack: Stack) -> None:
    response = await stack.post(
        "/v1/orders",
        canonical_order(
            lines=[{"line_id": "1", "sku": "JACKET-M", "quantity": 500, "unit_price": "129"}]
        ),
    )
    accepted = response.json()
    await stack.wait_for(accepted["order_id"], "backordered")
    await stack.client.get_workflow_handle(accepted["workflow_id"]).terminate(reason="test")
    result = await sweep(stack)
    assert result.swept == [accepted["order_id"]]
    async with stack.sessions() as session:
        queued = await session.scalar(
            select(func.count())
            .select_from(Backorder)
            .where(Backorder.order_id == accepted["order_id"])
        )
        held = await session.scalar(
            select(func.count())
            .select_from(Reservation)
            .where(Reservation.order_id == accepted["order_id"], Reservation.status == "held")
        )
    assert queued == 0 and held == 0

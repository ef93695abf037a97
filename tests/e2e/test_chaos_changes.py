"""Chaos during order changes: the worker process is SIGKILLed while line cancels and edits
are under way, with the warehouse driven by hand.

Each change is sent as a careful client would: with an `Idempotency-Key`, again after a 5xx.
Whatever the kills land on, every change takes effect exactly once: the lines end as asked, the
authorization is raised once per edit that needed it, one label per shipment, one void per
voided label, captures add up to the final total, stock balances and every promise returns.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sandbox.tables import SandboxPaymentAuthorization
from tests.conftest import Stack, canonical_order
from tests.e2e.demand_invariants import demand_problems
from tests.e2e.test_chaos import WorkerProcess
from tests.e2e.test_chaos_operations import (
    _balanced,
    keep_killing,
    ops_chaos_stack,  # noqa: F401  (the fixture)
    released,
    reserved,
    ship,
)
from tests.helpers import eventually
from tests.workflows.test_order_workflow import labels as labels_of
from tests.workflows.test_order_workflow import ops as payment_ops

LINES = [
    {"line_id": "1", "sku": "TSHIRT-M", "quantity": 3, "unit_price": "10.00"},
    {"line_id": "2", "sku": "MUG-12OZ", "quantity": 1, "unit_price": "16.00"},
]


async def change(stack: Stack, order_id: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """Send a change until it answers; the same key every time, as a client retrying would."""
    headers = {**stack.headers(), "Idempotency-Key": uuid.uuid4().hex}

    async def answered() -> dict[str, Any] | None:
        try:
            r = await stack.http.post(
                f"/v1/orders/{order_id}/{path}", json=body, headers=headers, timeout=120
            )
        except Exception:  # the connection dropped (a killed worker): send it again
            return None
        assert r.status_code in (200, 500, 502, 503, 504), r.text
        return r.json() if r.status_code == 200 else None  # type: ignore[no-any-return]

    return await eventually(answered, timeout=240, interval=0.5, message=f"{path} never answered")


async def order_released(stack: Stack) -> str:
    body = canonical_order(lines=LINES, shipping_price="5.00")
    order_id = (await stack.post("/v1/orders", body)).json()["order_id"]
    await released(stack, order_id)
    return order_id


async def ship_rest(stack: Stack, order_id: str) -> None:
    async def live() -> list[str] | None:
        order = await stack.order(order_id)
        shipments = [s for s in order["shipments"] if s["status"] != "cancelled"]
        if shipments and all(s["status"] == "released" for s in shipments):
            return [s["shipment_id"] for s in shipments]
        return None

    for sid in await eventually(live, timeout=180, interval=0.5, message="nothing to ship"):
        await ship(stack, sid)
    await stack.wait_for(order_id, "delivered", "completed", timeout=180)


async def cancel_then_edit(stack: Stack) -> dict[str, Any]:
    order_id = await order_released(stack)
    await change(stack, order_id, "lines/cancel", {"lines": [{"line_id": "1", "quantity": 2}]})
    added = {"line_id": "3", "sku": "TSHIRT-L", "quantity": 2, "unit_price": "10.00"}
    await change(stack, order_id, "edit", {"add": [added]})
    await ship_rest(stack, order_id)
    # 1 x 10 + 16 + 2 x 10 + 5 shipping.
    return {"order_id": order_id, "lines": {"1": 1, "2": 1, "3": 2}, "total": "51.00", "raised": 0}


async def edit_up_then_down(stack: Stack) -> dict[str, Any]:
    order_id = await order_released(stack)
    await change(stack, order_id, "edit", {"quantities": [{"line_id": "2", "quantity": 3}]})
    await change(stack, order_id, "edit", {"remove": ["1"]})
    await ship_rest(stack, order_id)
    # 3 x 16 + 5 shipping.
    return {"order_id": order_id, "lines": {"2": 3}, "total": "53.00", "raised": 1}


async def test_kills_during_line_cancels_and_edits_apply_each_once(
    ops_chaos_stack: Stack,  # noqa: F811
    tmp_path: Path,
) -> None:
    stack = ops_chaos_stack
    before = await reserved(stack)
    worker = WorkerProcess(stack, tmp_path / "worker.log")
    worker.env["OMS_SANDBOX_WAREHOUSE"] = "false"
    done = asyncio.Event()
    await worker.start()
    killer = asyncio.create_task(keep_killing(worker, done, seed=20261203))
    try:
        outcomes = await asyncio.gather(
            cancel_then_edit(stack), edit_up_then_down(stack), cancel_then_edit(stack)
        )
    finally:
        done.set()
        await killer
        await worker.wait_running(timeout=60)
    try:
        for outcome in outcomes:
            await check(stack, outcome)
        await eventually(lambda: _balanced(stack, before), timeout=60)
        await eventually(lambda: demand_problems(stack), until=lambda p: p == [], timeout=30)
    finally:
        await worker.stop()
    assert worker.kills >= 1


async def check(stack: Stack, outcome: dict[str, Any]) -> None:
    order_id = outcome["order_id"]
    order = await stack.order(order_id)
    assert {x["line_id"]: x["quantity"] for x in order["lines"] if x["quantity"]} == outcome[
        "lines"
    ]
    assert order["total"] == outcome["total"]
    changes = [e for e in order["events"] if e["type"] in ("lines_cancelled", "order_edited")]
    assert len(changes) == 2, [e["type"] for e in order["events"]]
    ops = await payment_ops(stack, order_id)
    assert ops.count("increment") == outcome["raised"], ops
    assert ops.count("authorize") == 1, ops
    labels: dict[str, int] = {}
    for label in await labels_of(stack, order):
        labels[label.reference] = labels.get(label.reference, 0) + 1
    assert all(n == 1 for n in labels.values()), labels

    async def captured() -> Decimal:
        async with stack.sandbox_sessions() as session:
            auth = await session.scalar(
                select(SandboxPaymentAuthorization).where(
                    SandboxPaymentAuthorization.reference == order_id
                )
            )
            assert auth is not None
            return Decimal(auth.captured_cents - auth.refunded_cents) / 100

    await eventually(captured, until=lambda c: c == Decimal(outcome["total"]), timeout=60)

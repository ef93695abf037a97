"""Chaos during ops changes: the worker process is SIGKILLed while cancels, reroutes and
partial return receipts are under way, with the warehouse driven by hand.

Whatever the kill lands on, each answer must match the outcome, stock must balance, and no
side effect may happen twice: one label per shipment, one void per label, one refund per parcel.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.client import Client

from sandbox.tables import SandboxLabel
from store.tables import StockLevel
from tests.conftest import Stack, canonical_order, security_stack
from tests.e2e.demand_invariants import AtpWatch, demand_problems
from tests.e2e.test_chaos import WorkerProcess
from tests.helpers import eventually
from tests.workflows.test_order_workflow import labels as labels_of
from tests.workflows.test_order_workflow import ops as payment_ops

KILLS = 12


@pytest.fixture
async def ops_chaos_stack(temporal_client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    """The API in-process; the worker a separate process; the warehouse driven by the test."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with security_stack(
        temporal_client, url, auto_warehouse=False, run_worker=False, return_window_days=30
    ) as stack:
        yield stack


async def reserved(stack: Stack) -> int:
    async with stack.sessions() as session:
        return int(await session.scalar(select(func.sum(StockLevel.reserved))) or 0)


async def released(stack: Stack, order_id: str) -> dict[str, Any]:
    return await stack.wait_shipment(order_id, lambda s: s["status"] == "released", timeout=120)


async def ship(stack: Stack, shipment_id: str) -> None:
    """Post `shipped` like a WMS: again until the order answers (a killed worker answers late)."""

    async def accepted() -> bool:
        response = await stack.post(f"/v1/shipments/{shipment_id}/events", {"type": "shipped"})
        assert response.status_code in (202, 503), response.text
        return response.status_code == 202

    await eventually(accepted, timeout=120, interval=0.5)


async def cancel_one(stack: Stack) -> dict[str, Any]:
    order_id = (await stack.post("/v1/orders", canonical_order())).json()["order_id"]
    await released(stack, order_id)
    response = await stack.post(f"/v1/orders/{order_id}/cancel", {"reason": "chaos"})
    assert response.status_code == 200, response.text
    return {"kind": "cancel", "order_id": order_id}


async def reroute_one(stack: Stack) -> dict[str, Any]:
    order_id = (await stack.post("/v1/orders", canonical_order())).json()["order_id"]
    order = await released(stack, order_id)
    origin = order["shipments"][0]["location_id"]
    response = await stack.post(
        f"/v1/orders/{order_id}/reroute", {"exclude_locations": [origin], "reason": "chaos"}
    )
    assert response.status_code == 200, response.text
    moved = await stack.wait_shipment(
        order_id, lambda s: s["status"] == "released" and s["location_id"] != origin, timeout=120
    )
    live = [s for s in moved["shipments"] if s["status"] == "released"]
    await ship(stack, live[0]["shipment_id"])
    await stack.wait_for(order_id, "delivered", timeout=150)
    return {"kind": "reroute", "order_id": order_id, "from": origin}


async def return_in_two_parcels(stack: Stack) -> dict[str, Any]:
    body = canonical_order(
        lines=[{"line_id": "1", "sku": "TSHIRT-M", "quantity": 2, "unit_price": "10.00"}]
    )
    order_id = (await stack.post("/v1/orders", body)).json()["order_id"]
    order = await released(stack, order_id)
    await ship(stack, order["shipments"][0]["shipment_id"])
    await stack.wait_for(order_id, "delivered", timeout=150)
    lines = [{"line_id": "1", "quantity": 2, "reason": "too_big"}]
    rma = await eventually(lambda: _request_return(stack, order_id, lines), timeout=120)
    for _ in range(2):
        parcel = {"lines": [{"line_id": "1", "quantity": 1, "condition": "new"}]}
        response = await stack.post(f"/v1/returns/{rma}/receive", parcel)
        assert response.status_code == 200, response.text
    await stack.wait_for(order_id, "returned", timeout=150)
    return {"kind": "return", "order_id": order_id}


async def _request_return(stack: Stack, order_id: str, lines: list[dict[str, Any]]) -> str | None:
    response = await stack.post(f"/v1/orders/{order_id}/returns", {"lines": lines})
    return response.json()["rma_id"] if response.status_code == 201 else None


async def keep_killing(worker: WorkerProcess, done: asyncio.Event, seed: int) -> None:
    rng = random.Random(seed)
    while worker.kills < KILLS and not done.is_set():
        await worker.wait_running(timeout=60)
        await asyncio.sleep(rng.uniform(0.3, 2.0))
        await worker.kill()
        await worker.start()


async def test_kills_during_cancels_reroutes_and_partial_receipts(
    ops_chaos_stack: Stack, tmp_path: Path
) -> None:
    stack = ops_chaos_stack
    before = await reserved(stack)
    worker = WorkerProcess(stack, tmp_path / "worker.log")
    worker.env["OMS_SANDBOX_WAREHOUSE"] = "false"
    done = asyncio.Event()
    await worker.start()
    killer = asyncio.create_task(keep_killing(worker, done, seed=20261202))
    try:
        async with AtpWatch(stack) as watch:
            outcomes = await asyncio.gather(
                cancel_one(stack),
                cancel_one(stack),
                reroute_one(stack),
                return_in_two_parcels(stack),
            )
    finally:
        done.set()
        await killer
        await worker.wait_running(timeout=60)
    try:
        for outcome in outcomes:
            await check(stack, outcome)
        await eventually(lambda: _balanced(stack, before), timeout=60)
        assert watch.samples and not watch.breaches, watch.breaches[:5]
        # Cancelled, rerouted and returned orders: every promise returned exactly once.
        await eventually(lambda: demand_problems(stack), until=lambda p: p == [], timeout=30)
    finally:
        await worker.stop()
    assert worker.kills >= 1


async def _balanced(stack: Stack, before: int) -> bool:
    return await reserved(stack) == before


async def check(stack: Stack, outcome: dict[str, Any]) -> None:
    """The outcome each operation answered for, with every side effect done once."""
    order = await stack.order(outcome["order_id"])
    ops = await payment_ops(stack, order["order_id"])
    labels: dict[str, list[SandboxLabel]] = {}
    for label in await labels_of(stack, order):
        labels.setdefault(label.reference, []).append(label)
    for shipment in order["shipments"]:
        assert len(labels.get(shipment["shipment_id"], [])) == 1, shipment["shipment_id"]
    if outcome["kind"] == "cancel":
        assert order["status"] == "cancelled"
        assert ops == ["authorize", "void"], ops
        assert all(label.voided_at is not None for ls in labels.values() for label in ls)
    elif outcome["kind"] == "reroute":
        moved = [s for s in order["shipments"] if s["status"] == "cancelled"]
        assert moved and all(s["location_id"] == outcome["from"] for s in moved)
        assert all(labels[s["shipment_id"]][0].voided_at is not None for s in moved)
        assert ops.count("capture") == 1 and "refund" not in ops, ops
    else:
        refunds = [p for p in order["payments"] if p["kind"] == "refund"]
        assert [p["amount"] for p in refunds] == ["10.00", "10.00"], refunds
        assert ops.count("refund") == 2, ops

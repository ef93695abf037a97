"""Sandbox warehouse: release schedule, cancel, and at-least-once event delivery."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.warehouse.errors import AlreadyShipped
from integrations.warehouse.protocol import (
    ReleaseAck,
    ReleaseLine,
    Warehouse,
    WarehouseEvent,
)
from sandbox.warehouse import SandboxWarehouse
from tests.sandbox.fakes import FakeClock

LINES: list[ReleaseLine | dict[str, Any]] = [
    ReleaseLine(line_id="1", sku="TSHIRT-M", quantity=2),
    {"line_id": "2", "sku": "MUG-1", "quantity": 1},
]


async def _release(
    warehouse: SandboxWarehouse, shipment_id: str = "shp-1", key: str | None = None
) -> ReleaseAck:
    return await warehouse.release(
        idempotency_key=key or f"order-web-1:release:{shipment_id}",
        shipment_id=shipment_id,
        order_id="ord_1",
        workflow_id="order-web-1",
        location_id="austin",
        lines=LINES,
    )


async def test_release_is_idempotent(warehouse: SandboxWarehouse) -> None:
    checked: Warehouse = warehouse
    first = await checked.release(
        idempotency_key="order-web-1:release:shp-1", shipment_id="shp-1", order_id="ord_1",
        workflow_id="order-web-1", location_id="austin", lines=LINES,
    )  # fmt: skip
    assert first.status == "acknowledged"
    assert await _release(warehouse) == first
    # A WMS dedupes by shipment too: a new key for a live shipment acknowledges it again.
    assert await _release(warehouse, key="another-key") == first
    racing = await asyncio.gather(*(_release(warehouse, "shp-2") for _ in range(10)))
    assert len({ack.release_id for ack in racing}) == 1


async def test_status_follows_the_schedule(warehouse: SandboxWarehouse, clock: FakeClock) -> None:
    ack = await _release(warehouse)
    expected = {0: "acknowledged", 10: "picked", 14: "picked", 15: "packed", 30: "shipped"}
    for minutes, status in expected.items():
        clock.now = ack.released_at + timedelta(minutes=minutes)
        current = await warehouse.status("shp-1")
        assert current is not None and current.status == status
    assert current is not None and current.shipped_at == ack.released_at + timedelta(minutes=30)
    assert await warehouse.status("shp-unknown") is None


async def test_time_scale_shrinks_the_schedule(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    fast = SandboxWarehouse(sessions, time_scale=0.001, clock=clock)
    ack = await _release(fast)
    clock.now = ack.released_at + timedelta(seconds=1.8)
    status = await fast.status("shp-1")
    assert status is not None and status.status == "shipped"


async def test_due_events_and_mark_delivered(warehouse: SandboxWarehouse, clock: FakeClock) -> None:
    ack = await _release(warehouse)
    assert await warehouse.due_events() == []

    clock.now = ack.released_at + timedelta(minutes=10)
    [picked] = await warehouse.due_events()
    assert (picked.shipment_id, picked.workflow_id, picked.type) == (
        "shp-1",
        "order-web-1",
        "picked",
    )
    assert await warehouse.due_events() == [picked]  # not delivered yet: offered again
    await warehouse.mark_delivered("shp-1", "picked")
    assert await warehouse.due_events() == []

    clock.now = ack.released_at + timedelta(hours=1)
    assert [e.type for e in await warehouse.due_events()] == ["packed", "shipped"]
    await warehouse.mark_delivered("shp-1", "packed")
    await warehouse.mark_delivered("shp-1", "shipped")
    assert await warehouse.due_events() == []


async def test_cancel(warehouse: SandboxWarehouse, clock: FakeClock) -> None:
    assert await warehouse.cancel_release(shipment_id="never-released") is False
    ack = await _release(warehouse)
    clock.now = ack.released_at + timedelta(minutes=12)

    assert await warehouse.cancel_release(shipment_id="shp-1") is True
    assert await warehouse.cancel_release(shipment_id="shp-1") is True
    clock.now = ack.released_at + timedelta(hours=2)
    status = await warehouse.status("shp-1")
    assert status is not None and status.status == "cancelled" and status.picked_at is not None
    assert await warehouse.due_events() == []

    shipped = await _release(warehouse, "shp-2")
    clock.now = shipped.released_at + timedelta(minutes=30)
    with pytest.raises(AlreadyShipped):
        await warehouse.cancel_release(shipment_id="shp-2")


async def test_release_after_cancel_starts_over(
    warehouse: SandboxWarehouse, clock: FakeClock
) -> None:
    first = await _release(warehouse)
    await warehouse.cancel_release(shipment_id="shp-1")
    clock.advance(minutes=5)

    again = await _release(warehouse, key="order-web-1:release:shp-1:2")
    assert again.released_at == first.released_at + timedelta(minutes=5)
    status = await warehouse.status("shp-1")
    assert status is not None and status.status == "acknowledged"


async def test_no_events_without_auto_events(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    quiet = SandboxWarehouse(sessions, clock=clock, auto_events=False)
    await _release(quiet)
    clock.advance(hours=1)
    assert await quiet.due_events() == []


async def test_simulator_retries_failed_sends_in_order(
    warehouse: SandboxWarehouse, clock: FakeClock
) -> None:
    await _release(warehouse, "shp-1")
    await _release(warehouse, "shp-2")
    clock.advance(hours=1)
    received: list[tuple[str, str]] = []
    failures = {"shp-1": 1}
    done, stop = asyncio.Event(), asyncio.Event()

    async def send(event: WarehouseEvent) -> None:
        if failures.get(event.shipment_id):
            failures[event.shipment_id] -= 1
            raise ConnectionError("OMS API unavailable")
        received.append((event.shipment_id, event.type))
        if len(received) == 6:
            done.set()

    runner = asyncio.create_task(warehouse.run_simulator(send, poll_seconds=0.01, stop=stop))
    await asyncio.wait_for(done.wait(), timeout=10)
    stop.set()
    await asyncio.wait_for(runner, timeout=5)

    for shipment in ("shp-1", "shp-2"):
        assert [t for s, t in received if s == shipment] == ["picked", "packed", "shipped"]
    assert await warehouse.due_events() == []

"""Pulled marketplace orders through ChannelPullWorkflow; availability pushed back by channel."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from temporalio.client import Client

from activities.channels import notify_stock_changed, sync_workflow_id
from activities.io import PullInput, PullResult
from integrations.channels.amazon import AmazonPuller
from sandbox.tables import SandboxChannelPush
from store.channel_tables import (
    ChannelBuffer,
    ChannelCursor,
    ChannelInventoryLevel,
)
from store.tables import Order
from tests.conftest import Stack, canonical_order
from tests.helpers import eventually
from tests.integrations.channels.conftest import channel_stack, payload
from workers.channel_schedules import ChannelAccount, ensure_pull_schedules
from workflows.channel_pull import ChannelPullWorkflow


def amazon_transport() -> httpx.MockTransport:
    routes = {
        "/orders/v0/orders": payload("amazon_get_orders.json"),
        "/orders/v0/orders/902-3159896-1390916/orderItems": payload("amazon_get_order_items.json"),
        "/orders/v0/orders/902-8745147-1934268/orderItems": {"payload": {"OrderItems": []}},
    }
    return httpx.MockTransport(lambda req: httpx.Response(200, json=routes[req.url.path]))


async def test_pull_workflow_submits_once_and_advances_the_cursor(
    temporal_client: Client, tmp_path: Path
) -> None:
    puller = AmazonPuller("ATVPDKIKX0DER", "token", transport=amazon_transport())
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with channel_stack(temporal_client, url, {"amazon/us": puller}) as stack:

        async def poll() -> PullResult:
            return await temporal_client.execute_workflow(
                ChannelPullWorkflow.run,
                PullInput(channel="amazon", account="us"),
                id=f"pull-{uuid.uuid4().hex[:8]}",
                task_queue=stack.settings.task_queue,
                result_type=PullResult,
            )

        first = await poll()
        assert (first.fetched, first.accepted, first.rejected) == (2, 1, 1)  # cancel before create
        second = await poll()
        assert (second.fetched, second.duplicates, second.accepted) == (2, 2, 0)
        async with stack.sessions() as session:
            orders = (await session.scalars(select(Order).where(Order.channel == "amazon"))).all()
            cursor = await session.get(ChannelCursor, ("amazon", "us"))
        assert [o.external_id for o in orders] == ["902-3159896-1390916"]
        assert cursor is not None and cursor.cursor == "2017-01-22T00:00:00Z"
        deferred = (await stack.get("/v1/channels/dead-letters?channel=amazon")).json()
        assert [d["delivery_id"] for d in deferred] == ["902-8745147-1934268@2017-01-21T10:15:00Z"]
        assert "no order" in deferred[0]["reason"]
    await puller.aclose()


async def test_pull_schedules_are_created_once(temporal_client: Client, chan: Stack) -> None:
    account = ChannelAccount("ebay", f"acct-{uuid.uuid4().hex[:6]}")
    ids = await ensure_pull_schedules(temporal_client, chan.settings, [account])
    assert ids == await ensure_pull_schedules(temporal_client, chan.settings, [account])
    handle = temporal_client.get_schedule_handle(ids[0])
    try:
        described = await handle.describe()
        assert described.schedule.spec.intervals[0].every.total_seconds() == 120
    finally:
        await handle.delete()


async def pushes(stack: Stack, channel: str, sku: str) -> list[SandboxChannelPush]:
    async with stack.sandbox_sessions() as session:
        rows = await session.scalars(
            select(SandboxChannelPush)
            .where(SandboxChannelPush.channel == channel, SandboxChannelPush.sku == sku)
            .order_by(SandboxChannelPush.id)
        )
        return list(rows)


async def wait_push(stack: Stack, channel: str, sku: str, expect: dict[str, Any]) -> None:
    await eventually(
        lambda: pushes(stack, channel, sku),
        until=lambda seen: any(p.body == expect for p in seen),
        message=lambda seen: f"{channel} never received {expect}: {[p.body for p in seen or []]}",
    )


async def wait_level(stack: Stack, channel: str, sku: str, available: int) -> Any:
    """The recorded channel level of `sku` once it shows `available`."""

    async def level() -> Any:
        async with stack.sessions() as session:
            return await session.get(ChannelInventoryLevel, (channel, sku))

    return await eventually(
        level,
        until=lambda row: row is not None and row.available == available,
        timeout=30,
        message=lambda row: f"{channel} level of {sku} never became {available}: {row}",
    )


async def wait_state(handle: Any, predicate: Any) -> None:
    """Poll the sync workflow's `state` query until `predicate` holds."""
    await eventually(
        lambda: handle.query("state"),
        until=predicate,
        timeout=30,
        message=lambda state: f"sync state never matched: {state}",
    )


async def test_reservation_pushes_new_availability_to_the_channel(chan: Stack) -> None:
    async with chan.sessions.begin() as session:
        session.add(ChannelBuffer(channel="ebay", sku="*", buffer_units=5))
    before = (await chan.get("/v1/inventory/TSHIRT-M")).json()["available"]
    created = await chan.post("/v1/orders", canonical_order())
    order_id = created.json()["order_id"]
    await chan.wait_shipment(
        order_id, lambda s: s["status"] in ("released", "shipped", "delivered")
    )
    after = (await chan.get("/v1/inventory/TSHIRT-M")).json()["available"]
    assert after < before

    # What the stock-change relay calls for each batch of the outbox.
    await notify_stock_changed(
        chan.client,
        ["TSHIRT-M"],
        task_queue=chan.settings.task_queue,
        channels=["ebay", "walmart"],
    )
    await wait_push(
        chan,
        "ebay",
        "TSHIRT-M",
        {"requests": [{"sku": "TSHIRT-M", "shipToLocationAvailability": {"quantity": after - 5}}]},
    )
    await wait_push(
        chan,
        "walmart",
        "TSHIRT-M",
        {"sku": "TSHIRT-M", "quantity": {"unit": "EACH", "amount": after}},
    )
    # The level is recorded just after the push, in its own transaction.
    level = await wait_level(chan, "ebay", "TSHIRT-M", after - 5)
    assert level.lag_ms >= 0

    # Nothing changed: a second signal pushes nothing new (rate limits are kept for changes).
    sent = len(await pushes(chan, "ebay", "TSHIRT-M"))
    handle = chan.client.get_workflow_handle(sync_workflow_id("ebay", chan.settings.task_queue))
    await notify_stock_changed(
        chan.client, ["TSHIRT-M"], task_queue=chan.settings.task_queue, channels=["ebay"]
    )
    await wait_state(handle, lambda state: state["pushes"] >= 2 and not state["pending"])
    assert len(await pushes(chan, "ebay", "TSHIRT-M")) == sent
    await handle.terminate("test over")
    await chan.client.get_workflow_handle(
        sync_workflow_id("walmart", chan.settings.task_queue)
    ).terminate("test over")

"""InventorySyncWorkflow: with the rate limit making SKUs queue, scarce SKUs go first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from activities.io import InventorySyncInput, PushInventoryInput, PushInventoryResult
from tests.helpers import eventually
from workflows.inventory_sync import InventorySyncWorkflow


async def test_a_scarce_sku_is_pushed_before_older_abundant_ones(temporal_client: Client) -> None:
    batches: list[list[str]] = []

    @activity.defn(name="push_inventory")
    async def push_inventory(inp: PushInventoryInput) -> PushInventoryResult:
        batches.append(sorted(inp.enqueued_at))
        return PushInventoryResult(pushed=dict.fromkeys(inp.enqueued_at, 1))

    @activity.defn(name="settle_changes")
    async def settle_changes(seconds: float) -> None:
        return None

    queue = f"sync-{uuid.uuid4().hex[:8]}"
    old = datetime.now(UTC) - timedelta(seconds=30)
    start = InventorySyncInput(
        channel="ebay",
        burst=1,
        per_second=5.0,
        window_s=0.01,
        tokens=1,
        # Two abundant SKUs queued long ago, the scarce one just now: one token each push.
        pending={"ABUNDANT-1": old, "ABUNDANT-2": old, "SCARCE": datetime.now(UTC)},
        urgent=["SCARCE"],
    )
    async with Worker(
        temporal_client,
        task_queue=queue,
        workflows=[InventorySyncWorkflow],
        activities=[push_inventory, settle_changes],
    ):
        handle = await temporal_client.start_workflow(
            InventorySyncWorkflow.run, start, id=f"sync-test-{queue}", task_queue=queue
        )
        try:
            await eventually(lambda: len(batches) >= 3, timeout=30)
        finally:
            await handle.terminate("test over")
    assert batches[:3] == [["SCARCE"], ["ABUNDANT-1"], ["ABUNDANT-2"]]

"""A cycle count reaches the channels the way an adjustment does: through the stock-change
outbox, drained by the relay beside the worker into each channel's inventory sync."""

from __future__ import annotations

from temporalio.client import Client

from activities.channels import DEFAULT_SYNC_CHANNELS, sync_workflow_id
from tests.conftest import Stack
from tests.integrations.channels.test_pull_and_sync import wait_push


async def test_a_cycle_count_reaches_every_channel_through_the_outbox(
    temporal_client: Client, chan: Stack
) -> None:
    response = await chan.http.post(
        "/v1/inventory/import",
        content=b"sku,location_id,on_hand\nMUG-12OZ,WH-EAST,137\n",
        headers={**chan.headers(), "content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["changed"] == 1
    available = (await chan.get("/v1/inventory/MUG-12OZ")).json()["available"]
    await wait_push(
        chan,
        "walmart",
        "MUG-12OZ",
        {"sku": "MUG-12OZ", "quantity": {"unit": "EACH", "amount": available}},
    )
    for channel in DEFAULT_SYNC_CHANNELS:
        handle = temporal_client.get_workflow_handle(
            sync_workflow_id(channel, chan.settings.task_queue)
        )
        await handle.terminate("test over")

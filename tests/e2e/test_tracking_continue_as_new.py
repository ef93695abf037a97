"""A long tracking run continues-as-new and still tells the order every status change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from tests.conftest import TEST_TIME_SCALE, Stack, canonical_order, security_stack

# A failed first delivery attempt makes the parcel take longer to arrive.
SLOW_ADDRESS = "1 Main St FAIL DELIVERY"


@pytest.fixture
async def slow_carrier_stack(temporal_client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    """Carriers ten times slower than the warehouse and the workflows' timers.

    The tracking child then polls dozens of times per parcel, and the test server suggests
    continue-as-new after 60 history events: it must continue as new, maybe several times.
    """
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with security_stack(
        temporal_client, url, time_scale=TEST_TIME_SCALE, carrier_time_scale=TEST_TIME_SCALE * 10
    ) as stack:
        yield stack


async def test_tracking_continues_as_new_without_losing_updates(slow_carrier_stack: Stack) -> None:
    stack = slow_carrier_stack
    body = canonical_order()
    body["ship_to"]["line1"] = SLOW_ADDRESS
    accepted = (await stack.post("/v1/orders", body)).json()
    order = await stack.wait_for(accepted["order_id"], "delivered", "completed", timeout=120)
    [shipment] = order["shipments"]
    tracking_id = f"{accepted['workflow_id']}:track:{shipment['shipment_id']}"

    handle = stack.client.get_workflow_handle(tracking_id)
    description = await handle.describe()
    info = description.raw_description.workflow_execution_info
    assert description.status == WorkflowExecutionStatus.COMPLETED
    assert info.first_run_id and info.first_run_id != description.run_id, "never continued as new"
    first = await stack.client.get_workflow_handle(tracking_id, run_id=info.first_run_id).describe()
    assert first.status == WorkflowExecutionStatus.CONTINUED_AS_NEW

    # Every intermediate status reached the parent as a signal, whichever run sent it...
    events = [e["type"] for e in order["events"]]
    for status in ("in_transit", "out_for_delivery", "exception"):
        assert f"tracking_{status}" in events, events
    # ...and the final status came back as the last run's result.
    assert (await handle.result())["status"] == "delivered"
    assert order["shipments"][0]["status"] == "delivered"

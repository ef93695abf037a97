"""The order workflow's exact side effects and compensations, on stub activities.

Each scenario pins the sequence of activities the workflow asks for (read-model projections,
emails, validation and tracking polls left out), so a change to what a cancel, hold, reroute
or failure undoes shows up here first. Real Temporal server, real workflow code.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.worker import Worker

from domain.commands import ActionRequest, AddressChange, FulfilmentEvent, RerouteRequest
from domain.order_state import OrderState
from tests.helpers import eventually
from tests.workflows.stubs import StubActivities, order_input
from workflows.order.workflow import OrderWorkflow
from workflows.returns import ReturnWorkflow
from workflows.tracking import ShipmentTrackingWorkflow


@dataclass
class Harness:
    """A stub worker on its own task queue."""

    client: Client
    stubs: StubActivities
    task_queue: str

    async def start(self, **kwargs: object) -> WorkflowHandle[OrderWorkflow, OrderState]:
        inp = order_input(**kwargs)  # type: ignore[arg-type]
        return await self.client.start_workflow(
            OrderWorkflow.run,
            inp,
            id=f"order-web-{inp.order.external_id}",
            task_queue=self.task_queue,
        )

    async def state(self, handle: WorkflowHandle[OrderWorkflow, OrderState]) -> OrderState:
        return await handle.query(OrderWorkflow.state)

    async def until(self, handle: WorkflowHandle[OrderWorkflow, OrderState], status: str) -> None:
        async def reached() -> bool:
            return (await self.state(handle)).status.value == status

        await eventually(reached, timeout=30, message=f"order never reached {status}")

    async def released(self, handle: WorkflowHandle[OrderWorkflow, OrderState]) -> str:
        async def shipment() -> str | None:
            s = await self.state(handle)
            return next((x.shipment_id for x in s.shipments if x.released), None)

        return await eventually(shipment, timeout=30, message="nothing was released")

    async def ship(self, handle: WorkflowHandle[OrderWorkflow, OrderState], sid: str) -> None:
        await handle.execute_update(
            OrderWorkflow.report_fulfilment, FulfilmentEvent(shipment_id=sid, type="shipped")
        )


@pytest.fixture
async def harness(temporal_client: Client) -> AsyncIterator[Harness]:
    stubs = StubActivities()
    queue = f"stubs-{uuid.uuid4().hex[:8]}"
    async with Worker(
        temporal_client,
        task_queue=queue,
        workflows=[OrderWorkflow, ShipmentTrackingWorkflow, ReturnWorkflow],
        activities=stubs.activities(),
    ):
        yield Harness(temporal_client, stubs, queue)


STOP = ActionRequest(reason="customer asked")


async def test_happy_path_side_effects(harness: Harness) -> None:
    handle = await harness.start()
    sid = await harness.released(handle)
    await harness.ship(handle, sid)
    await harness.until(handle, "delivered")
    assert harness.stubs.names() == [
        "authorize_payment",
        "route_order",
        "reserve_stock",
        "buy_label",
        "release_to_location",
        "commit_stock",
        "hand_over_parcel",
        "capture_payment",
    ]
    [reserve] = harness.stubs.inputs("reserve_stock")
    assert reserve.shipment_ids == {"L1": sid} and reserve.queue
    [commit] = harness.stubs.inputs("commit_stock")
    assert commit.hold_id == sid


async def test_cancel_while_backordered(harness: Harness) -> None:
    harness.stubs.stocked = []
    handle = await harness.start()
    await harness.until(handle, "backordered")
    state = await handle.execute_update(OrderWorkflow.cancel, STOP)
    assert state.status.value == "cancelled"
    assert harness.stubs.names() == [
        "authorize_payment",
        "route_order",
        "reserve_stock",  # queues the short line
        "release_stock",  # leaves the queue, gives back anything set aside
        "void_payment",
    ]
    [release] = harness.stubs.inputs("release_stock")
    assert release.leave_queue


async def test_cancel_while_released_withdraws_before_undoing(harness: Harness) -> None:
    handle = await harness.start()
    await harness.released(handle)
    state = await handle.execute_update(OrderWorkflow.cancel, STOP)
    assert state.status.value == "cancelled"
    assert harness.stubs.names()[-4:] == [
        "cancel_release",
        "void_label",
        "release_stock",
        "void_payment",
    ]


async def test_cancel_during_authorization_voids_it(harness: Harness) -> None:
    gate = harness.stubs.gates["authorize_payment"] = asyncio.Event()
    handle = await harness.start()
    await eventually(lambda: harness.stubs.inputs("authorize_payment"), timeout=30)
    cancelling = asyncio.create_task(handle.execute_update(OrderWorkflow.cancel, STOP))
    await eventually(
        lambda: [e for e in harness.stubs.calls if e.name == "authorize_payment"], timeout=30
    )
    gate.set()
    state = await cancelling
    assert state.status.value == "cancelled"
    assert harness.stubs.names() == ["authorize_payment", "void_payment"]


async def test_cancel_after_shipped_is_refused_and_nothing_undone(harness: Harness) -> None:
    handle = await harness.start()
    sid = await harness.released(handle)
    await harness.ship(handle, sid)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(OrderWorkflow.cancel, STOP)
    assert "already shipped" in str(refused.value.cause)
    await harness.until(handle, "delivered")
    assert not {"void_label", "void_payment", "release_stock", "cancel_release"} & set(
        harness.stubs.names()
    )


async def test_cancel_when_the_warehouse_had_shipped_answers_409(harness: Harness) -> None:
    harness.stubs.warehouse_already_shipped = True
    handle = await harness.start()
    await harness.released(handle)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(OrderWorkflow.cancel, STOP)
    assert "shipped before the cancellation took effect" in str(refused.value.cause)
    await harness.until(handle, "delivered")
    names = harness.stubs.names()
    assert names[-4:] == ["cancel_release", "commit_stock", "hand_over_parcel", "capture_payment"]
    assert "void_label" not in names and "void_payment" not in names


async def test_shipped_after_a_successful_withdrawal_is_refused(harness: Harness) -> None:
    gate = harness.stubs.gates["cancel_release"] = asyncio.Event()
    handle = await harness.start()
    sid = await harness.released(handle)
    cancelling = asyncio.create_task(handle.execute_update(OrderWorkflow.cancel, STOP))
    await eventually(lambda: harness.stubs.inputs("cancel_release"), timeout=30)
    shipping = asyncio.create_task(harness.ship(handle, sid))
    await asyncio.sleep(0.2)  # the report waits for the withdrawal's answer
    assert not shipping.done()
    gate.set()
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await shipping
    assert "withdrawn from the warehouse" in str(refused.value.cause)
    assert (await cancelling).status.value == "cancelled"
    assert "capture_payment" not in harness.stubs.names()


async def test_hold_while_released_withdraws_then_releases_again(harness: Harness) -> None:
    handle = await harness.start()
    sid = await harness.released(handle)
    held = await handle.execute_update(OrderWorkflow.hold, ActionRequest(reason="check"))
    assert held.status.value == "on_hold"
    assert harness.stubs.names()[-1] == "cancel_release"
    await handle.execute_update(OrderWorkflow.release, ActionRequest(reason="ok"))
    await eventually(lambda: len(harness.stubs.inputs("release_to_location")) == 2, timeout=30)
    await harness.ship(handle, sid)
    await harness.until(handle, "delivered")
    names = harness.stubs.names()
    assert names.count("buy_label") == 1 and "void_label" not in names
    keys = [x.idempotency_key for x in harness.stubs.inputs("release_to_location")]
    assert keys[0].endswith(":1") and keys[1].endswith(":2")


async def test_reroute_while_backordered_replaces_the_exclusions(harness: Harness) -> None:
    harness.stubs.stocked = ["L2"]
    handle = await harness.start()
    sid = await harness.released(handle)
    first = await handle.execute_update(
        OrderWorkflow.reroute, RerouteRequest(exclude_locations=["L2"], reason="audit")
    )
    assert first.status.value == "backordered" and first.excluded_locations == ["L2"]
    assert harness.stubs.names()[-5:] == [
        "cancel_release",
        "void_label",
        "release_stock",
        "route_order",
        "reserve_stock",  # nothing left but L2: the line waits in the queue
    ]
    cleared = await handle.execute_update(OrderWorkflow.reroute, RerouteRequest())
    assert cleared.excluded_locations == []
    routes = harness.stubs.inputs("route_order")
    assert [r.exclude_locations for r in routes] == [[], ["L2"], []]
    new = next(x.shipment_id for x in cleared.shipments if x.status != "cancelled")
    assert new != sid


async def test_address_change_after_the_label_is_refused(harness: Harness) -> None:
    handle = await harness.start()
    await harness.released(handle)
    state = await harness.state(handle)
    change = AddressChange(ship_to=state.order.ship_to.model_copy(update={"city": "Dallas"}))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(OrderWorkflow.change_address, change)
    assert "label was already bought" in str(refused.value.cause)
    assert harness.stubs.names().count("buy_label") == 1


async def test_failed_capture_fails_the_order_and_voids_the_rest(harness: Harness) -> None:
    harness.stubs.failures["capture_payment"] = "authorization expired"
    handle = await harness.start()
    sid = await harness.released(handle)
    await harness.ship(handle, sid)
    await harness.until(handle, "failed")
    state = await harness.state(handle)
    assert state.failure_reason == "PaymentStateError: authorization expired"
    assert harness.stubs.names()[-3:] == ["capture_payment", "release_stock", "void_payment"]


async def test_shipped_reported_before_the_release_is_acknowledged_waits(
    harness: Harness,
) -> None:
    """A WMS may report `shipped` before its answer to the release reached the order."""
    gate = harness.stubs.gates["release_to_location"] = asyncio.Event()
    handle = await harness.start()
    [release] = await eventually(lambda: harness.stubs.inputs("release_to_location"), timeout=30)
    shipping = asyncio.create_task(harness.ship(handle, release.shipment_id))
    await asyncio.sleep(0.2)  # the report waits for the release's acknowledgement
    assert not shipping.done()
    gate.set()
    await shipping
    await harness.until(handle, "delivered")
    assert "capture_payment" in harness.stubs.names()

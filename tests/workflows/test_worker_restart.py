"""Crashes in the middle of an order: the order still completes once, nothing is charged twice."""

from __future__ import annotations

from pathlib import Path

from temporalio import activity
from temporalio.client import Client

from activities import io
from activities.payments import PaymentActivities
from tests.conftest import Stack, canonical_order, running_stack
from tests.workflows.test_order_workflow import labels, ops
from workers.worker import build_worker


async def test_worker_restart_mid_order_completes_once(
    temporal_client: Client, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with running_stack(temporal_client, url, auto_warehouse=False, run_worker=False) as stack:
        first = build_worker(temporal_client, stack.settings, stack.sessions, stack.integrations)
        async with first:
            response = await stack.post("/v1/orders", canonical_order())
            order_id = response.json()["order_id"]
            order = await stack.wait_shipment(order_id, lambda s: s["status"] == "released")
        # The first worker is gone; the order waits durably in Temporal. A new one takes over.
        second = build_worker(temporal_client, stack.settings, stack.sessions, stack.integrations)
        async with second:
            shipment_id = order["shipments"][0]["shipment_id"]
            await stack.post(f"/v1/shipments/{shipment_id}/events", {"type": "shipped"})
            order = await stack.wait_for(order_id, "delivered", "completed")
        assert await ops(stack, order_id) == ["authorize", "capture"]
        assert len(await labels(stack, order)) == 1


async def test_crash_between_capture_and_its_report_captures_once(
    temporal_client: Client, tmp_path: Path
) -> None:
    """The gateway captured, then the worker died before reporting: the retry must not charge."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with running_stack(temporal_client, url, run_worker=False) as stack:
        real = PaymentActivities(stack.integrations.gateway)

        @activity.defn(name="capture_payment")
        async def capture_then_crash(inp: io.PaymentOpInput) -> io.PaymentOpResult:
            result = await real.capture_payment(inp)
            if activity.info().attempt == 1:
                raise RuntimeError("worker lost before completing the activity")
            return result

        patched = _replace_activity(stack, temporal_client, capture_then_crash)
        async with patched:
            response = await stack.post("/v1/orders", canonical_order())
            order_id = response.json()["order_id"]
            order = await stack.wait_for(order_id, "delivered", "completed")
        assert await ops(stack, order_id) == ["authorize", "capture"]
        assert [p["kind"] for p in order["payments"]] == ["authorization", "capture"]


def _replace_activity(stack: Stack, client: Client, replacement):  # type: ignore[no-untyped-def]
    """A worker whose activity of the same name is swapped (the samples-python way)."""
    from temporalio.worker import Worker

    from workers.assembly import activities_for
    from workers.worker import WORKFLOWS

    name = activity._Definition.must_from_callable(replacement).name
    acts = [
        a
        for a in activities_for(stack.settings, stack.sessions, stack.integrations)
        if activity._Definition.must_from_callable(a).name != name
    ]
    return Worker(
        client,
        task_queue=stack.settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=[*acts, replacement],
    )

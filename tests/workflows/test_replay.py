"""Replay recorded histories: a non-deterministic change to a workflow fails here.

Histories live in tests/histories/. To record new ones after an intentional change (guarded
by `workflow.patched`), run `OMS_RECORD_HISTORIES=1 .venv/bin/pytest tests/workflows/test_replay.py`
and commit the files it writes.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer, Worker

from config.temporal import data_converter
from tests.conftest import canonical_order, running_stack
from tests.helpers import eventually
from workers.worker import WORKFLOWS

HISTORIES = Path(__file__).parent.parent / "histories"


def recorded() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


@pytest.mark.parametrize("path", recorded(), ids=lambda p: p.stem)
async def test_replay_recorded_history(path: Path) -> None:
    recorded_run = json.loads(path.read_text())
    history = WorkflowHistory.from_json(recorded_run["workflow_id"], recorded_run["history"])
    replayer = Replayer(workflows=list(WORKFLOWS), data_converter=data_converter())
    await replayer.replay_workflow(history)


def test_every_workflow_type_has_a_recorded_history() -> None:
    types = {
        json.loads(p.read_text())["history"]["events"][0][
            "workflowExecutionStartedEventAttributes"
        ]["workflowType"]["name"]
        for p in recorded()
    }
    assert {w.__name__ for w in WORKFLOWS} <= types


@pytest.mark.skipif(not os.environ.get("OMS_RECORD_HISTORIES"), reason="records on demand")
async def test_record_histories(temporal_client: Client, tmp_path: Path) -> None:
    """Run representative orders and write their histories (and their children's)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with running_stack(temporal_client, url) as stack:
        scenarios = {
            "order_delivered": canonical_order(),
            "order_declined": canonical_order(
                payment={"method": "card", "token": "tok_chargeDeclined"}
            ),
            "order_two_shipments": canonical_order(
                lines=[
                    {"line_id": "1", "sku": "TSHIRT-M", "quantity": 1, "unit_price": "19.99"},
                    {"line_id": "2", "sku": "JACKET-M", "quantity": 1, "unit_price": "129.00"},
                ]
            ),
        }
        ids = {}
        for name, body in scenarios.items():
            response = await stack.post("/v1/orders", body)
            ids[name] = response.json()
        for name, accepted in ids.items():
            await stack.wait_for(accepted["order_id"], "completed", "failed")
            handle = temporal_client.get_workflow_handle(accepted["workflow_id"])
            HISTORIES.mkdir(exist_ok=True)
            await _save(handle, accepted["workflow_id"], HISTORIES / f"{name}.json")
        await _record_other_workflows(temporal_client, stack)
        await _record_backorder_and_exchange(temporal_client, stack)
        await _record_return(temporal_client, stack)
        track = f"{ids['order_delivered']['workflow_id']}:track:"
        async for execution in temporal_client.list_workflows(
            "WorkflowType = 'ShipmentTrackingWorkflow'"
        ):
            if execution.id.startswith(track):
                handle = temporal_client.get_workflow_handle(execution.id, run_id=execution.run_id)
                await _save(handle, execution.id, HISTORIES / "tracking_delivered.json")
                break


@pytest.mark.skipif(not os.environ.get("OMS_RECORD_HISTORIES"), reason="records on demand")
async def test_record_stop_histories(temporal_client: Client, tmp_path: Path) -> None:
    """Cancels with the warehouse driven by hand: whole, and after one parcel shipped."""
    from tests.e2e.test_shipment_level_operations import ship, split_order

    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with running_stack(temporal_client, url, auto_warehouse=False) as stack:
        accepted = (await stack.post("/v1/orders", canonical_order())).json()
        await stack.wait_shipment(accepted["order_id"], lambda s: s["status"] == "released")
        await stack.post(f"/v1/orders/{accepted['order_id']}/cancel", {"reason": "recorded"})
        await stack.wait_for(accepted["order_id"], "cancelled")
        handle = temporal_client.get_workflow_handle(accepted["workflow_id"])
        await handle.result()
        await _save(handle, accepted["workflow_id"], HISTORIES / "order_cancelled_released.json")

        order_id, shipments = await split_order(stack)
        await ship(stack, shipments["JACKET-M"])
        await stack.post(f"/v1/orders/{order_id}/cancel", {"reason": "recorded"})
        order = await stack.wait_for(order_id, "completed")
        handle = temporal_client.get_workflow_handle(order["workflow_id"])
        await handle.result()
        path = HISTORIES / "order_partially_cancelled.json"
        await _save(handle, order["workflow_id"], path)

        await _record_sweep(temporal_client, stack)


async def _record_backorder_and_exchange(client: Client, stack: Any) -> None:
    """A backorder served by a receipt; an exchange received in two parcels."""
    from tests.e2e.test_backorders import empty, line, receive

    await empty(stack, "BEANIE")
    accepted = (
        await stack.post("/v1/orders", canonical_order(lines=[line("1", "BEANIE", 1)]))
    ).json()
    await stack.wait_for(accepted["order_id"], "backordered")
    await receive(stack, "BEANIE", 3)
    await stack.wait_for(accepted["order_id"], "completed")
    handle = client.get_workflow_handle(accepted["workflow_id"])
    await handle.result()
    await _save(handle, accepted["workflow_id"], HISTORIES / "order_backordered_served.json")

    # The default recording stack's return window is half a business day: ample here.
    accepted = (await stack.post("/v1/orders", canonical_order())).json()
    await stack.wait_for(accepted["order_id"], "delivered")
    lines = [{"line_id": "1", "quantity": 2, "reason": "style", "exchange_sku": "TSHIRT-L"}]
    rma = (await stack.post(f"/v1/orders/{accepted['order_id']}/returns", {"lines": lines})).json()
    for _ in range(2):
        parcel = [{"line_id": "1", "quantity": 1, "condition": "new"}]
        await stack.post(f"/v1/returns/{rma['rma_id']}/receive", {"lines": parcel})
    workflow_id = accepted["workflow_id"]
    return_id = f"{workflow_id}:return:1"
    await client.get_workflow_handle(return_id).result()
    await client.get_workflow_handle(workflow_id).result()
    await _save(
        client.get_workflow_handle(workflow_id), workflow_id, HISTORIES / "order_exchanged.json"
    )
    await _save(
        client.get_workflow_handle(return_id), return_id, HISTORIES / "return_exchanged.json"
    )


async def _record_sweep(client: Client, stack: Any) -> None:
    """A sweep that releases one terminated order."""
    from activities.io import SweepInput
    from workflows.sweeper import OrderSweepWorkflow

    accepted = (await stack.post("/v1/orders", canonical_order())).json()
    await stack.wait_shipment(accepted["order_id"], lambda s: s["status"] == "released")
    await client.get_workflow_handle(accepted["workflow_id"]).terminate(reason="recorded")
    sweep_id = f"sweep-{uuid.uuid4().hex[:8]}"
    await client.execute_workflow(
        OrderSweepWorkflow.run,
        SweepInput(task_queue=stack.settings.task_queue),
        id=sweep_id,
        task_queue=stack.settings.task_queue,
    )
    await _save(client.get_workflow_handle(sweep_id), sweep_id, HISTORIES / "order_sweep.json")


async def _save(handle: Any, workflow_id: str, path: Path) -> None:
    history = await handle.fetch_history()
    body = {"workflow_id": workflow_id, "history": json.loads(history.to_json())}
    path.write_text(json.dumps(body, indent=1))


async def _record_other_workflows(client: Client, stack: Any) -> None:
    """Forecast, channel pull and inventory sync runs, on the same recording stack."""
    from activities.channels import sync_workflow_id
    from activities.io import PullInput, PullResult
    from integrations.channels.amazon import AmazonPuller
    from tests.integrations.channels.test_pull_and_sync import amazon_transport
    from workers.assembly import activities_for
    from workflows.channel_pull import ChannelPullWorkflow
    from workflows.forecast import ForecastInput, ForecastWorkflow

    forecast_id = f"forecast-{uuid.uuid4().hex[:8]}"
    await client.execute_workflow(
        ForecastWorkflow.run,
        ForecastInput(),
        id=forecast_id,
        task_queue=stack.settings.task_queue,
    )
    await _save(client.get_workflow_handle(forecast_id), forecast_id, HISTORIES / "forecast.json")

    stack.integrations.channel_pullers = {
        "amazon/us": AmazonPuller("ATVPDKIKX0DER", "token", transport=amazon_transport())
    }
    queue = f"pull-{uuid.uuid4().hex[:8]}"
    pull_worker = Worker(
        client,
        task_queue=queue,
        workflows=[ChannelPullWorkflow],
        activities=activities_for(stack.settings, stack.sessions, stack.integrations),
    )
    pull_id = f"pull-{uuid.uuid4().hex[:8]}"
    async with pull_worker:
        await client.execute_workflow(
            ChannelPullWorkflow.run,
            PullInput(channel="amazon", account="us"),
            id=pull_id,
            task_queue=queue,
            result_type=PullResult,
        )
    await _save(client.get_workflow_handle(pull_id), pull_id, HISTORIES / "channel_pull.json")

    # Orders above changed stock, so the eBay sync ran; an open history replays as well.
    sync_id = sync_workflow_id("ebay", stack.settings.task_queue)
    sync = client.get_workflow_handle(sync_id)
    await eventually(lambda: sync.query("state"), until=lambda s: s["pushes"] >= 1, timeout=60)
    await _save(client.get_workflow_handle(sync_id), sync_id, HISTORIES / "inventory_sync.json")


async def _record_return(client: Client, stack: Any) -> None:
    """An order with a one-unit return received in new condition, and its RMA."""
    accepted = (await stack.post("/v1/orders", canonical_order())).json()
    await stack.wait_for(accepted["order_id"], "delivered")
    lines = [{"line_id": "1", "quantity": 1, "reason": "too_small"}]
    rma = (await stack.post(f"/v1/orders/{accepted['order_id']}/returns", {"lines": lines})).json()
    received = [{"line_id": "1", "quantity": 1, "condition": "new"}]
    await stack.post(f"/v1/returns/{rma['rma_id']}/receive", {"lines": received})
    await stack.wait_for(accepted["order_id"], "completed")
    workflow_id = accepted["workflow_id"]
    await _save(
        client.get_workflow_handle(workflow_id), workflow_id, HISTORIES / "order_returned.json"
    )
    return_id = f"{workflow_id}:return:1"
    await client.get_workflow_handle(return_id).result()
    await _save(client.get_workflow_handle(return_id), return_id, HISTORIES / "return_closed.json")


@pytest.mark.skipif(not os.environ.get("OMS_RECORD_HISTORIES"), reason="records on demand")
async def test_record_shop_histories(temporal_client: Client, tmp_path: Path) -> None:
    """A connected WooCommerce site: its listing sync, and an order taken in unpaid, paid at
    the site, shipped (the site told) and completed."""
    import httpx

    from domain.models import order_id_for
    from sandbox.woocommerce_shop import WooShop, create_app
    from services.shop_sync import sync_id
    from tests.e2e.test_shop_loop_woocommerce import _connect
    from tests.integrations.channels.woo_sandbox import bound_socket, serving, url_of

    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with running_stack(temporal_client, url, data_dir=tmp_path) as stack:
        sock = bound_socket()
        shop = WooShop(
            site_url=url_of(sock),
            requests_per_second=None,
            delivery_transport=httpx.ASGITransport(app=stack.app),
        )
        shop.store.state.next_id = int(uuid.uuid4().int % 10**9) * 1000
        shop.seed(WooShop.demo_products(["TSHIRT-M", "MUG-12OZ"], stock=5))
        async with serving(create_app(shop), sock):
            await _connect(stack, shop)
            sync = sync_id(stack.settings, "woo-main", "listings")
            await _save(
                temporal_client.get_workflow_handle(sync), sync, HISTORIES / "shop_sync.json"
            )
            placed = shop.place_order([{"sku": "MUG-12OZ", "quantity": 1}], status="pending")
            order_id = order_id_for("woocommerce", str(placed["id"]))

            async def status() -> str:
                found = await stack.get(f"/v1/orders/{order_id}")
                return str(found.json()["status"]) if found.status_code == 200 else ""

            await eventually(status, until=lambda s: s == "awaiting_payment")
            shop.change_status(placed["id"], "processing")
            order = await stack.wait_for(order_id, "completed")
            handle = temporal_client.get_workflow_handle(order["workflow_id"])
            await handle.result()
            await _save(handle, order["workflow_id"], HISTORIES / "order_shop_paid.json")
            await shop.drain()

"""`ShopLink.lines_cancelled` inside a real workflow run (real Temporal dev server, a stub
activity under the real name): the push's input, one push after another, and the timeline."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities import io
from domain.order_state import OrderState
from domain.timings import Timings
from tests.workflows.stubs import order_input
from workflows.order.context import OrderContext
from workflows.order.shop import ShopLink


@workflow.defn(sandboxed=False)
class LineCancelsProbe:
    """Three line cancels told to the shop of a connected order, as the order workflow would."""

    @workflow.run
    async def run(self, state: OrderState) -> list[dict[str, Any]]:
        ctx = OrderContext(state, Timings())
        link = ShopLink(ctx, "acme")
        link.decide()
        link.lines_cancelled("cancel-1", [("1", 2), ("2", 1)], "out of stock")
        link.lines_cancelled("cancel-2", [("1", 1)], "damaged")
        link.lines_cancelled("cancel-3", [("2", 0)], "nothing taken off: nothing told")
        await link.settled()
        return [{"type": e.type, **e.detail} for e in ctx.s.events]


async def test_line_cancels_are_pushed_one_after_another(temporal_client: Client) -> None:
    seen: list[str] = []
    inputs: list[io.ShopLinesInput] = []

    @activity.defn(name="cancel_lines_at_shop")
    async def cancel_lines_at_shop(inp: io.ShopLinesInput) -> None:
        inputs.append(inp)
        key = inp.idempotency_key.rsplit(":", 1)[1]
        seen.append(f"start {key}")
        await asyncio.sleep(0.3 if key == "cancel-1" else 0)  # the first one is slow
        seen.append(f"end {key}")
        if key == "cancel-2":
            raise ApplicationError(
                "line cancel: too many units", type="ShopRefused", non_retryable=True
            )

    @activity.defn(name="project_order")
    async def project_order(inp: io.OrderSnapshot) -> None:
        return None

    inp = order_input(lines=2)
    order = inp.order.model_copy(update={"channel": "shopify", "external_id": "4501"})
    state = OrderState(order_id=inp.order_id, workflow_id="order-shopify-4501", order=order)
    queue = f"shop-lines-{uuid.uuid4().hex[:8]}"
    async with Worker(
        temporal_client,
        task_queue=queue,
        workflows=[LineCancelsProbe],
        activities=[cancel_lines_at_shop, project_order],
    ):
        events = await temporal_client.execute_workflow(
            LineCancelsProbe.run,
            state,
            id=f"probe-{uuid.uuid4().hex[:8]}",
            task_queue=queue,
            result_type=list[dict[str, Any]],
        )
    assert seen == ["start cancel-1", "end cancel-1", "start cancel-2", "end cancel-2"]
    first, second = inputs
    assert first.model_dump() == {
        "connection_id": "acme",
        "order_id": inp.order_id,
        "external_id": "4501",
        "idempotency_key": "order-shopify-4501:shop-lines:cancel-1",
        "lines": [("1", 2), ("2", 1)],
        "reason": "out of stock",
    }
    assert second.lines == [("1", 1)] and second.reason == "damaged"
    assert events == [
        {
            "type": "shop_updated",
            "what": "line cancel",
            "lines": [{"line_id": "1", "quantity": 2}, {"line_id": "2", "quantity": 1}],
        },
        {
            "type": "shop_update_failed",
            "what": "line cancel",
            "reason": "ShopRefused: line cancel: too many units",
        },
    ]

"""The return path replays: record an order with a return and its RMA, replay both at once.

Recorded histories in tests/histories are the long-term guard; this catches non-determinism in
the return code before anyone records them.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Replayer

from config.temporal import data_converter
from tests.conftest import Stack
from tests.workflows.returns.conftest import delivered_order, wait_rma
from workers.worker import WORKFLOWS


async def test_order_with_a_return_and_its_rma_replay(
    returns_stack: Stack, temporal_client: Client
) -> None:
    stack = returns_stack
    order = await delivered_order(stack)
    response = await stack.post(
        f"/v1/orders/{order['order_id']}/returns",
        {"lines": [{"line_id": "1", "quantity": 1, "reason": "too_small"}]},
    )
    rma_id = response.json()["rma_id"]
    await stack.post(
        f"/v1/returns/{rma_id}/receive",
        {"lines": [{"line_id": "1", "quantity": 1, "condition": "new"}]},
    )
    await wait_rma(stack, rma_id, "closed")
    await stack.wait_for(order["order_id"], "partially_returned")
    rma_workflow = f"{order['workflow_id']}:return:1"
    await temporal_client.get_workflow_handle(rma_workflow).result()
    replayer = Replayer(workflows=list(WORKFLOWS), data_converter=data_converter())
    for workflow_id in (order["workflow_id"], rma_workflow):
        history = await temporal_client.get_workflow_handle(workflow_id).fetch_history()
        await replayer.replay_workflow(history)

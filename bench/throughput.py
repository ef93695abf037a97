"""Floor, shape and pipeline: bare workflows vs real orders, on one worker configuration."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from temporalio.worker import Worker

from bench.floor import ACTIVITY, FloorInput, FloorWorkflow, Plan, noop, plan_of
from bench.orders import DONE, order_body, post_orders, wait_statuses
from bench.progress import Bar
from bench.stack import Stack
from bench.stats import latency_ms, rate
from domain.models import order_id_for, workflow_id_for
from workers.seed import SKUS

# Tiny jackets only ship from one warehouse; every other demo SKU is everywhere.
PIPELINE_SKUS = [sku for sku, *_ in SKUS if sku != "JACKET-M"]


async def order_plan(stack: Stack) -> Plan:
    """Run one order to its end (also warming every cache) and read its shape off its history."""
    body = order_body(f"w{uuid.uuid4().hex[:8]}", PIPELINE_SKUS[0])
    await post_orders(stack, [body], 1)
    order_id, workflow_id = (
        order_id_for("web", body["external_id"]),
        workflow_id_for("web", body["external_id"]),
    )
    handle = stack.client.get_workflow_handle(workflow_id)
    await handle.result()
    view = (await stack.http.get(f"/v1/orders/{order_id}", headers=stack.headers())).json()
    child = None
    if view["shipments"]:
        child_id = f"{workflow_id}:track:{view['shipments'][0]['shipment_id']}"
        child = await stack.client.get_workflow_handle(child_id).fetch_history()
    return plan_of(await handle.fetch_history(), child)


async def run_floor(
    stack: Stack, n: int, concurrency: int, plan: Plan, label: str = "floor"
) -> dict[str, Any]:
    """`n` workflows running `plan` on a worker with the OMS worker's settings -> workflows/s."""
    queue = f"{stack.settings.task_queue}-{label}"
    worker = Worker(
        stack.client,
        task_queue=queue,
        workflows=[FloorWorkflow],
        activities=[noop],
        max_concurrent_activities=stack.settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=stack.settings.max_concurrent_workflow_tasks,
    )
    gate = asyncio.Semaphore(concurrency)
    run = uuid.uuid4().hex[:6]
    durations: list[float] = []
    inp = FloorInput(steps=plan.steps, child_steps=plan.child_steps)
    with Bar(label, n) as bar:
        async with worker:

            async def one(i: int) -> None:
                async with gate:
                    started = time.perf_counter()
                    handle = await stack.client.start_workflow(
                        FloorWorkflow.run, inp, id=f"{label}-{run}-{i}", task_queue=queue
                    )
                await handle.result()
                durations.append(time.perf_counter() - started)
                bar.update()

            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(n)))
            elapsed = time.perf_counter() - started
    return {
        "workflows": n,
        "steps": plan.steps,
        "child_steps": plan.child_steps,
        "elapsed_s": round(elapsed, 3),
        "per_s": rate(n, elapsed),
        **latency_ms(durations),
    }


def chain(plan: Plan) -> Plan:
    """The floor: as many plain activities, one after the other, as the order's plan runs."""
    return Plan(ACTIVITY * plan.activities)


async def run_pipeline(stack: Stack, n: int, concurrency: int, timeout_s: float) -> dict[str, Any]:
    """`n` real orders through the API and the OrderWorkflow -> completed orders/s."""
    prefix = f"p{uuid.uuid4().hex[:6]}-"
    bodies = [order_body(f"{prefix}{i}", PIPELINE_SKUS[i % len(PIPELINE_SKUS)]) for i in range(n)]
    started = time.perf_counter()
    with Bar("pipeline", n) as bar:
        submit = asyncio.create_task(post_orders(stack, bodies, concurrency))
        counts = await wait_statuses(stack, prefix, n, DONE, bar, timeout_s)
        await submit
    elapsed = time.perf_counter() - started
    done = sum(counts.get(s, 0) for s in DONE)
    return {
        "orders": n,
        "completed": done,
        "statuses": counts,
        "elapsed_s": round(elapsed, 3),
        "per_s": rate(done, elapsed),
    }

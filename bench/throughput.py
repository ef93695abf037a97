"""Floor vs pipeline: bare workflows with the order's step count vs real orders, same worker."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from temporalio.worker import Worker

from bench.floor import FloorInput, FloorWorkflow, noop
from bench.orders import DONE, order_body, post_orders, wait_statuses
from bench.progress import Bar
from bench.stack import Stack, top_up_stock
from bench.stats import latency_ms, rate
from workers.seed import SKUS

# Tiny jackets only ship from one warehouse; every other demo SKU is everywhere.
PIPELINE_SKUS = [sku for sku, *_ in SKUS if sku != "JACKET-M"]


async def run_floor(stack: Stack, n: int, concurrency: int) -> dict[str, Any]:
    """`n` floor workflows on a worker with the OMS worker's settings -> workflows/s."""
    queue = f"{stack.settings.task_queue}-floor"
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
    with Bar("floor", n) as bar:
        async with worker:

            async def one(i: int) -> None:
                async with gate:
                    started = time.perf_counter()
                    handle = await stack.client.start_workflow(
                        FloorWorkflow.run, FloorInput(), id=f"floor-{run}-{i}", task_queue=queue
                    )
                await handle.result()
                durations.append(time.perf_counter() - started)
                bar.update()

            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(n)))
            elapsed = time.perf_counter() - started
    return {
        "workflows": n,
        "elapsed_s": round(elapsed, 3),
        "per_s": rate(n, elapsed),
        **latency_ms(durations),
    }


async def run_pipeline(stack: Stack, n: int, concurrency: int, timeout_s: float) -> dict[str, Any]:
    """`n` real orders through the API and the OrderWorkflow -> completed orders/s."""
    await top_up_stock(stack.sessions, 100 * n)
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

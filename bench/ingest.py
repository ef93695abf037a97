"""Ingest: `POST /v1/orders` accept rate and latency vs raw `client.start_workflow`.

Both start OrderWorkflows on a parked task queue that no worker polls, so the measurement is
the cost of accepting an order, not of running it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
from temporalio.client import WorkflowHandle

from bench.orders import order_body
from bench.progress import Bar
from bench.stack import Stack
from bench.stats import latency_ms, rate
from domain.models import CanonicalOrder, workflow_id_for
from domain.timings import OrderInput


async def _api_side(stack: Stack, queue: str, bodies: list[dict[str, Any]], c: int) -> list[float]:
    from api.app import create_app

    app = create_app(
        stack.settings.model_copy(update={"task_queue": queue}), temporal_client=stack.client
    )
    gate = asyncio.Semaphore(c)
    latencies: list[float] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://oms.bench") as http:
            with Bar("ingest api", len(bodies)) as bar:

                async def one(body: dict[str, Any]) -> None:
                    async with gate:
                        started = time.perf_counter()
                        response = await http.post("/v1/orders", json=body, headers=stack.headers())
                        latencies.append(time.perf_counter() - started)
                    if response.status_code != 202:
                        raise RuntimeError(f"ingest: {response.status_code} {response.text}")
                    bar.update()

                await asyncio.gather(*(one(b) for b in bodies))
    return latencies


async def _raw_side(
    stack: Stack, queue: str, bodies: list[dict[str, Any]], c: int
) -> tuple[list[float], list[WorkflowHandle[Any, Any]]]:
    gate = asyncio.Semaphore(c)
    latencies: list[float] = []
    handles: list[WorkflowHandle[Any, Any]] = []
    timings = stack.settings.timings()
    with Bar("ingest raw", len(bodies)) as bar:

        async def one(body: dict[str, Any]) -> None:
            order = CanonicalOrder.model_validate(body)
            async with gate:
                started = time.perf_counter()
                handle = await stack.client.start_workflow(
                    "OrderWorkflow",
                    OrderInput(order_id=f"raw_{order.external_id}", order=order, timings=timings),
                    id=f"order-raw-{order.external_id}",
                    task_queue=queue,
                )
                latencies.append(time.perf_counter() - started)
            handles.append(handle)
            bar.update()

        await asyncio.gather(*(one(b) for b in bodies))
    return latencies, handles


async def run_ingest(stack: Stack, n: int, concurrency: int) -> dict[str, Any]:
    """Accept `n` orders each way with `concurrency` requests in flight."""
    queue = f"{stack.settings.task_queue}-parked"
    run = uuid.uuid4().hex[:6]
    api_bodies = [order_body(f"i{run}-{i}", "TSHIRT-M") for i in range(n)]
    raw_bodies = [order_body(f"r{run}-{i}", "TSHIRT-M") for i in range(n)]
    started = time.perf_counter()
    api = await _api_side(stack, queue, api_bodies, concurrency)
    api_elapsed = time.perf_counter() - started
    started = time.perf_counter()
    raw, handles = await _raw_side(stack, queue, raw_bodies, concurrency)
    raw_elapsed = time.perf_counter() - started
    if not stack.owns_temporal:
        # Someone else's server: leave nothing parked behind.
        await _terminate_parked(
            stack, handles, [workflow_id_for("web", b["external_id"]) for b in api_bodies]
        )
    return {
        "api": {"orders": n, "per_s": rate(n, api_elapsed), **latency_ms(api)},
        "raw": {"workflows": n, "per_s": rate(n, raw_elapsed), **latency_ms(raw)},
    }


async def _terminate_parked(
    stack: Stack, handles: list[WorkflowHandle[Any, Any]], api_ids: list[str]
) -> None:
    every = [*handles, *(stack.client.get_workflow_handle(i) for i in api_ids)]
    gate = asyncio.Semaphore(16)

    async def stop(handle: WorkflowHandle[Any, Any]) -> None:
        async with gate:
            try:
                await handle.terminate("oms bench cleanup")
            except Exception:  # already gone
                pass

    await asyncio.gather(*(stop(h) for h in every))

"""The Temporal worker process: builds integrations and activities once, then polls."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.stock_relay import StockChangeRelay
from config import temporal
from config.settings import Settings
from domain.commands import FulfilmentEvent
from domain.errors import Refused
from services import fulfilment
from store.db import Database
from workers.assembly import Integrations, activities_for, build_integrations
from workers.schedules import ensure_forecast_schedule, ensure_sweep_schedule
from workers.temporal_setup import ensure_search_attributes
from workflows.channel_pull import ChannelPullWorkflow
from workflows.forecast import ForecastWorkflow
from workflows.inventory_sync import InventorySyncWorkflow
from workflows.order.workflow import OrderWorkflow
from workflows.returns import ReturnWorkflow
from workflows.shop_sync import ShopSyncWorkflow
from workflows.sweeper import OrderSweepWorkflow
from workflows.tracking import ShipmentTrackingWorkflow

log = structlog.get_logger(__name__)
WORKFLOWS: Sequence[type] = (
    OrderWorkflow,
    ShipmentTrackingWorkflow,
    InventorySyncWorkflow,
    ChannelPullWorkflow,
    ForecastWorkflow,
    ReturnWorkflow,
    OrderSweepWorkflow,
    ShopSyncWorkflow,
)
# Finish in-flight activities on SIGTERM, within the orchestrator's grace period (k8s: 90 s).
GRACEFUL_SHUTDOWN = timedelta(seconds=60)
# The relay and the sandbox warehouse finish their pass within this, or are cancelled.
SERVICES_STOP_WITHIN = timedelta(seconds=5)


def build_worker(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    integrations: Integrations,
    **overrides: Any,
) -> Worker:
    """A worker with every workflow and activity of the OMS on the configured task queue."""
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=activities_for(settings, sessions, integrations),
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        **overrides,
    )


async def warehouse_events_to_workflows(client: Client, event: Any) -> None:
    """Deliver a sandbox warehouse event as the report a real WMS would make via the API.

    A refusal is an answer, not a failure: the building is told and stops sending it (a real
    WMS would intercept the parcel).
    """
    report = FulfilmentEvent(shipment_id=event.shipment_id, type=event.type, at=event.at)
    try:
        await fulfilment.report(client, event.workflow_id, report)
    except Refused as refusal:
        log.info("warehouse event refused", shipment_id=event.shipment_id, reason=refusal.message)


def warehouse_poll_seconds(settings: Settings) -> float:
    """How often the sandbox warehouse looks for due events: a minute of business time."""
    return max(0.05, min(2.0, 60 * settings.time_scale))


@asynccontextmanager
async def worker_services(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    integrations: Integrations,
    *,
    warehouse_poll_s: float | None = None,
) -> AsyncIterator[None]:
    """The loops that run beside a worker: the stock-change relay and the sandbox warehouse."""
    stop = asyncio.Event()
    relay = StockChangeRelay(
        sessions,
        client,
        settings.task_queue,
        channels=tuple(settings.sync_channels),
        # read each pass: the threshold can change while the worker runs (the bench does)
        share_below=lambda: settings.atp_share_below,
    )
    tasks = [asyncio.create_task(relay.run(stop))]
    if settings.sandbox_warehouse and integrations.sandbox_warehouse is not None:
        tasks.append(
            asyncio.create_task(
                integrations.sandbox_warehouse.run_simulator(
                    lambda ev: warehouse_events_to_workflows(client, ev),
                    poll_seconds=warehouse_poll_s or warehouse_poll_seconds(settings),
                    stop=stop,
                )
            )
        )
    try:
        yield
    finally:
        stop.set()
        # A delivery in flight may wait on a workflow whose worker is stopping too.
        _, pending = await asyncio.wait(tasks, timeout=SERVICES_STOP_WITHIN.total_seconds())
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then drain."""
    database = Database(settings.database_url_resolved(), pool_size=settings.database_pool_size)
    sessions = database.sessions
    client = await temporal.connect(settings)
    await ensure_search_attributes(client, settings.temporal_namespace)
    await ensure_forecast_schedule(client, settings)
    await ensure_sweep_schedule(client, settings)
    integrations = await build_integrations(settings)
    try:
        worker = build_worker(client, settings, sessions, integrations)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info(
            "worker started", task_queue=settings.task_queue, temporal=settings.temporal_address
        )
        async with worker_services(client, settings, sessions, integrations), worker:
            await stop.wait()
            log.info("worker stopping")
    finally:
        await integrations.aclose()
        await database.dispose()

"""Keeping a connected shop in step: its two Schedules, and a sync on request.

Each connection has a Schedule refreshing its listing map (and webhook subscriptions) and one
pulling orders changed since the last pull, so an order whose webhook was lost is still taken
in. Both start `ShopSyncWorkflow`, whose runs show in the Temporal UI under the connection's id.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Literal

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from config.settings import Settings
from domain.connections import ConnectionOptions
from services.schedules import ensure_schedule
from workflows.shop_sync import ShopSyncInput, ShopSyncResult, ShopSyncWorkflow

log = structlog.get_logger(__name__)
Kind = Literal["listings", "orders"]
KINDS: tuple[Kind, ...] = ("listings", "orders")


def sync_id(settings: Settings, connection_id: str, kind: Kind) -> str:
    """The workflow (and Schedule) id of a connection's sync of `kind`."""
    return f"shop-sync-{settings.task_queue}-{connection_id}-{kind}"


def callback_url(settings: Settings, channel: str) -> str:
    """Where the shop delivers webhooks: this OMS's public URL."""
    return f"{settings.public_base_url()}/v1/channels/{channel}/webhooks"


def _input(settings: Settings, connection_id: str, channel: str, kind: Kind) -> ShopSyncInput:
    return ShopSyncInput(
        connection_id=connection_id,
        kind=kind,
        callback_url=callback_url(settings, channel) if kind == "listings" else "",
    )


async def ensure_schedules(
    client: Client,
    settings: Settings,
    connection_id: str,
    channel: str,
    options: ConnectionOptions,
) -> list[str]:
    """Create (or bring up to date) the connection's listing and order Schedules."""
    every = {"listings": options.listings_minutes, "orders": options.reconcile_minutes}
    ids = []
    for kind in KINDS:
        sid = sync_id(settings, connection_id, kind)
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(
                ShopSyncWorkflow.run,
                _input(settings, connection_id, channel, kind),
                id=sid,
                task_queue=settings.task_queue,
            ),
            spec=ScheduleSpec(
                intervals=[ScheduleIntervalSpec(every=timedelta(minutes=every[kind]))]
            ),
            # A slow pull must not overlap the next (both would read the same window).
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        )
        ids.append(await ensure_schedule(client, sid, schedule))
    log.info("shop schedules ready", connection_id=connection_id, schedules=ids)
    return ids


async def drop_schedules(client: Client, settings: Settings, connection_id: str) -> None:
    """Delete the connection's Schedules (gone already is fine)."""
    for kind in KINDS:
        try:
            await client.get_schedule_handle(sync_id(settings, connection_id, kind)).delete()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise


async def sync_now(
    client: Client,
    settings: Settings,
    connection_id: str,
    channel: str,
    kind: Kind,
    wait_s: float = 60.0,
) -> tuple[str, ShopSyncResult | None]:
    """Run a sync now (joining one under way); (workflow id, result, or None if still going)."""
    handle = await client.start_workflow(
        ShopSyncWorkflow.run,
        _input(settings, connection_id, channel, kind),
        id=sync_id(settings, connection_id, kind),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    try:
        return handle.id, await asyncio.wait_for(handle.result(), wait_s)
    except TimeoutError:
        return handle.id, None

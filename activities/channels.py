"""Channel activities: pull marketplace orders, push availability; and the stock-change hook."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities import io
from activities.shops import CONNECTION_PREFIX, ShopActivities
from config.settings import Settings
from domain.atp import channel_atp
from integrations.channels.base import InventoryLevel
from integrations.channels.endpoints import ChannelEndpoint
from integrations.channels.pull import Puller
from integrations.channels.registry import PULL_TOPIC
from services import channels as ingest
from store import channel_shares, demand, inventory
from store.channel_tables import (
    ChannelBuffer,
    ChannelCursor,
    ChannelInventoryLevel,
    ChannelListing,
)
from store.db import readers
from store.tables import utcnow

log = structlog.get_logger(__name__)
INVENTORY_SYNC_WORKFLOW = "InventorySyncWorkflow"
# Marketplaces whose listings we keep in step with stock (their sandbox endpoints by default).
# Shopify and WooCommerce are connections (`conn:<id>`, activities/shops.py): their stock goes
# to each connected shop by its own item and location ids, never by SKU.
DEFAULT_SYNC_CHANNELS = ("amazon", "ebay", "etsy", "walmart")


@activity.defn
async def settle_changes(seconds: float) -> None:
    """The inventory sync's coalescing window, run as a local activity: a server timer
    shorter than a second fires about a second late (seen on the dev server), which alone
    would break the sub-second target from a sale to the channel's new level."""
    await asyncio.sleep(max(0.0, seconds))


def _initial_cursor(channel: str, since: datetime) -> str:
    """The first poll's cursor in the channel's own format."""
    if channel == "etsy":
        return str(int(since.timestamp()))
    if channel == "ebay":
        return since.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return since.replace(microsecond=0).isoformat().replace("+00:00", "Z")


class ChannelActivities:
    """Activities over the channel adapters one worker is configured with."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        pullers: Mapping[str, Puller],
        endpoints: Mapping[str, ChannelEndpoint],
        shops: ShopActivities | None = None,
    ) -> None:
        self._sessions = sessions
        self._reads = readers(sessions)
        self._settings = settings
        # Keyed "channel/account".
        self._pullers = pullers
        self._endpoints = endpoints
        self._shops = shops

    @activity.defn
    async def pull_channel_orders(self, inp: io.PullInput) -> io.PullResult:
        """Fetch orders changed since the stored cursor, submit each once, advance the cursor."""
        puller = self._pullers.get(f"{inp.channel}/{inp.account}")
        if puller is None:
            raise _unknown(f"{inp.channel}/{inp.account}")
        async with self._sessions() as session:
            stored = await session.get(ChannelCursor, (inp.channel, inp.account))
        since = (
            stored.cursor
            if stored
            else _initial_cursor(
                inp.channel, datetime.now(UTC) - timedelta(hours=inp.lookback_hours)
            )
        )
        page = await puller.fetch(since)
        result = io.PullResult(fetched=len(page.orders), cursor=page.cursor)
        client = activity.client()
        for pulled in page.orders:
            activity.heartbeat(pulled.external_id)
            # The version makes a changed order (e.g. now cancelled) a new delivery.
            delivery = ingest.Delivery(
                inp.channel,
                f"{pulled.external_id}@{pulled.version}",
                PULL_TOPIC,
                json.dumps(pulled.doc, separators=(",", ":")).encode(),
                {"account": inp.account},
            )
            outcome = await ingest.receive(self._sessions, client, self._settings, delivery)
            key = {"duplicate": "duplicates", "refused": "rejected", "deferred": "rejected"}.get(
                outcome.status, outcome.status
            )
            setattr(result, key, getattr(result, key) + 1)
        async with self._sessions.begin() as session:
            row = await session.get(ChannelCursor, (inp.channel, inp.account))
            if row is None:
                session.add(
                    ChannelCursor(channel=inp.channel, account=inp.account, cursor=page.cursor)
                )
            elif _later(page.cursor, row.cursor):
                # Only forward: a late retry of an older poll must not rewind the cursor.
                row.cursor, row.updated_at = page.cursor, utcnow()
        log.info("channel polled", channel=inp.channel, account=inp.account, **result.model_dump())
        return result

    @activity.defn
    async def push_inventory(self, inp: io.PushInventoryInput) -> io.PushInventoryResult:
        """Send each SKU's channel availability (ATP less the channel's buffer); record the lag."""
        if inp.channel.startswith(CONNECTION_PREFIX) and self._shops is not None:
            return await self._shops.push_stock(inp)
        endpoint = self._endpoints.get(inp.channel)
        if endpoint is None:
            raise _unknown(inp.channel)
        skus = sorted(inp.enqueued_at)
        async with self._reads() as session:
            stock = await inventory.available_by_location(session, skus)
            promised = await demand.open_by_sku(session, skus)
            shared = await channel_shares.share_of(session, inp.channel, skus)
            buffers = await _by_sku(session, ChannelBuffer, inp.channel, [*skus, "*"])
            listings = await _by_sku(session, ChannelListing, inp.channel, skus)
            last = await _by_sku(session, ChannelInventoryLevel, inp.channel, skus)
        default = buffers.get("*")
        levels: list[InventoryLevel] = []
        result = io.PushInventoryResult()
        for sku in skus:
            buffer = buffers.get(sku, default)
            if buffer is not None and not buffer.enabled:
                continue
            atp = demand.network_atp(
                sum(units for (s, _), units in stock.items() if s == sku), promised.get(sku, 0)
            )
            available = channel_atp(
                atp,
                buffer.buffer_units if buffer else 0,
                buffer.buffer_pct if buffer else 0,
            )
            if sku in shared:  # a scarce SKU: this channel's share, not the whole network's
                available = min(available, shared[sku])
            previous = last.get(sku)
            if previous is not None and previous.available == available:
                result.unchanged += 1  # rate limits are precious; the channel already shows it
                continue
            listing = listings.get(sku)
            levels.append(
                InventoryLevel(
                    sku,
                    available,
                    listing.listing_id if listing else "",
                    listing.location_ref if listing else "",
                )
            )
        if levels:
            await endpoint.push_inventory(levels)
        pushed_at = utcnow()
        async with self._sessions.begin() as session:
            for level in levels:
                enqueued = inp.enqueued_at[level.sku]
                await session.merge(
                    ChannelInventoryLevel(
                        channel=inp.channel,
                        sku=level.sku,
                        available=level.available,
                        enqueued_at=enqueued,
                        pushed_at=pushed_at,
                        lag_ms=max(0, int((pushed_at - enqueued).total_seconds() * 1000)),
                    )
                )
                result.pushed[level.sku] = level.available
        return result


def _unknown(name: str) -> ApplicationError:
    """A configuration error: retrying cannot help."""
    return ApplicationError(
        f"no adapter configured for {name}", type="UnknownChannel", non_retryable=True
    )


def _later(new: str, old: str) -> bool:
    """Whether cursor `new` is past `old` (epoch digits compare as numbers, ISO as text)."""
    if new.isdigit() and old.isdigit():
        return int(new) > int(old)
    return new > old


async def _by_sku(
    session: AsyncSession, table: type, channel: str, skus: Sequence[str]
) -> dict[str, Any]:
    rows: Any = await session.scalars(
        select(table).where(table.channel == channel, table.sku.in_(list(skus)))  # type: ignore[attr-defined]
    )
    return {row.sku: row for row in rows}


def sync_workflow_id(channel: str, task_queue: str) -> str:
    """One sync per channel and deployment (its task queue), even in a shared namespace."""
    return f"inventory-sync-{task_queue}-{channel}"


class StockSyncUnavailable(Exception):
    """Some channel's sync could not be told of a change (the caller keeps it for later)."""


async def notify_stock_changed(
    client: Client,
    skus: Iterable[str],
    *,
    task_queue: str,
    channels: Sequence[str] = DEFAULT_SYNC_CHANNELS,
    since: Mapping[str, datetime] | None = None,
    urgent: Iterable[str] = (),
) -> None:
    """Queue an availability push of `skus` to every channel (signal-with-start per channel).

    Tries every channel, then raises `StockSyncUnavailable` naming those that failed;
    telling a channel twice is harmless (its sync coalesces).
    """
    wanted = sorted(set(skus))
    if not wanted:
        return
    change = io.StockChanged(
        skus=wanted,
        at=datetime.now(UTC),
        since=dict(since or {}),
        urgent=sorted(set(urgent) & set(wanted)),
    )

    async def queue(channel: str) -> str | None:
        try:
            await client.start_workflow(
                INVENTORY_SYNC_WORKFLOW,
                io.InventorySyncInput.for_channel(channel),
                id=sync_workflow_id(channel, task_queue),
                task_queue=task_queue,
                start_signal="stock_changed",
                start_signal_args=[change],
            )
        except Exception as err:
            log.warning("could not queue inventory sync", channel=channel, error=str(err))
            return channel
        return None

    # One signal-with-start per channel, in parallel: the batch waits for the slowest only.
    failed = [c for c in await asyncio.gather(*(queue(c) for c in channels)) if c is not None]
    if failed:
        raise StockSyncUnavailable(f"inventory sync not reachable for {', '.join(failed)}")

"""Activities against connected shops: the listing map, the reconciliation pull, stock levels,
and what an order tells the shop that sold it (a fulfilment with tracking, a cancel, units of
lines cancelled, a note).

Every call opens the connection (credentials sealed at rest), builds the platform's client and
closes it. A shop that is down or throttling raises a retryable error carrying its Retry-After;
a refusal (bad credentials, unknown order) is non-retryable and is recorded on the connection,
where the dashboard shows it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from functools import cached_property
from typing import Any, TypeVar

import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import io
from config.credentials import CredentialBox, credential_box
from config.settings import Settings
from domain.atp import channel_atp
from domain.errors import NotFound
from integrations.channels.shop import (
    ShopClient,
    ShopFulfilment,
    ShopRequestError,
    ShopStock,
    ShopUnavailable,
)
from integrations.channels.shops import ShopFactory, open_shop
from services import channels as ingest
from services import connections
from store import channel_shares, demand, inventory
from store.channel_tables import ChannelBuffer
from store.connection_tables import ShopStockLevel
from store.db import readers
from store.tables import StockChange, utcnow

log = structlog.get_logger(__name__)
T = TypeVar("T")
# Inventory syncs of connections run under this channel key (`conn:<connection id>`).
CONNECTION_PREFIX = channel_shares.CONNECTION_PREFIX
# A pull reads back this far before the last one, so an order updated while it ran is seen.
PULL_OVERLAP = timedelta(minutes=5)


def sync_key(connection_id: str) -> str:
    """The inventory-sync channel key of a connection."""
    return f"{CONNECTION_PREFIX}{connection_id}"


class ShopActivities:
    """Activities over connected shops (clients built per call by `factory`)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        factory: ShopFactory | None = None,
    ) -> None:
        self._sessions = sessions
        self._reads = readers(sessions)
        self._settings = settings
        self._factory = factory or self._default_factory

    @cached_property
    def _box(self) -> CredentialBox:
        # Built on first use: constructing the activities touches no key file.
        return credential_box(self._settings)

    def _default_factory(
        self,
        channel: str,
        base_url: str,
        credentials: Mapping[str, Any],
        options: Mapping[str, Any],
    ) -> ShopClient:
        return open_shop(
            channel,
            base_url,
            credentials,
            options,
            shopify_api_version=self._settings.shopify_api_version,
        )

    async def _call(
        self,
        connection_id: str,
        what: str,
        call: Callable[[connections.OpenConnection, ShopClient], Awaitable[T]],
    ) -> T:
        """Run `call` with the connection's client; failures become Temporal's kind of error."""
        try:
            conn = await connections.open_connection(self._sessions, self._box, connection_id)
        except NotFound as err:
            raise ApplicationError(err.message, type="ConnectionGone", non_retryable=True) from err
        client = self._factory(
            conn.channel, conn.base_url, conn.credentials, conn.options.model_dump()
        )
        try:
            return await call(conn, client)
        except ShopUnavailable as err:
            await connections.note(self._sessions, connection_id, error=f"{what}: {err.message}")
            delay = timedelta(seconds=err.retry_after_s) if err.retry_after_s else None
            raise ApplicationError(
                f"{what}: {err.message}", type="ShopUnavailable", next_retry_delay=delay
            ) from err
        except ShopRequestError as err:
            await connections.note(self._sessions, connection_id, error=f"{what}: {err.message}")
            raise ApplicationError(
                f"{what}: {err.code}: {err.message}", type="ShopRefused", non_retryable=True
            ) from err
        finally:
            await client.aclose()

    # ---- the listing map and the reconciliation pull -------------------------------------------

    @activity.defn
    async def sync_shop(self, inp: io.ShopSyncInput) -> io.ShopSyncResult:
        """`listings`: map the shop's items to SKUs, subscribe its webhooks, queue a full stock
        push. `orders`: take in every order changed since the last pull (missed webhooks)."""
        structlog.contextvars.bind_contextvars(connection_id=inp.connection_id)
        if inp.kind == "orders":
            return await self._call(inp.connection_id, "order pull", self._pull)

        async def sync(conn: connections.OpenConnection, shop: ShopClient) -> io.ShopSyncResult:
            listings = await shop.listings()
            counts = await connections.record_listings(self._sessions, conn.connection_id, listings)
            locations = [loc.location_ref for loc in await shop.locations()]
            webhooks = await shop.subscribe_webhooks(inp.callback_url) if inp.callback_url else []
            await self._queue_full_push(conn.connection_id)
            await connections.note(self._sessions, conn.connection_id, last_sync_at=utcnow())
            log.info("shop synced", **counts.__dict__, webhooks=webhooks)
            return io.ShopSyncResult(
                listings=counts.listings,
                mapped=counts.mapped,
                unmapped=counts.unmapped,
                newly_mapped=counts.newly_mapped,
                locations=locations,
                webhooks=webhooks,
            )

        return await self._call(inp.connection_id, "listing sync", sync)

    async def _queue_full_push(self, connection_id: str) -> None:
        """Every mapped SKU's level is (re)set at the shop by the next relay pass."""
        async with self._sessions.begin() as session:
            rows = await connections.mapped_listings(session, connection_id)
            # Forget what was shown, so the push sets every level rather than skipping it.
            await session.execute(
                delete(ShopStockLevel).where(ShopStockLevel.connection_id == connection_id)
            )
            now = utcnow()
            session.add_all(
                StockChange(sku=s, changed_at=now) for s in {r.sku for r in rows if r.sku}
            )

    async def _pull(self, conn: connections.OpenConnection, shop: ShopClient) -> io.ShopSyncResult:
        started = utcnow()
        since = (
            conn.orders_read_to - PULL_OVERLAP
            if conn.orders_read_to
            else started - timedelta(hours=conn.options.lookback_hours)
        )
        result = io.PullResult(cursor=started.isoformat())
        client = activity.client()
        for order in await shop.orders_since(since):
            result.fetched += 1
            activity.heartbeat(order.external_id)
            delivery = ingest.Delivery(
                conn.channel,
                f"pull:{order.external_id}@{order.version}",
                order.topic,
                json.dumps(order.doc, separators=(",", ":")).encode(),
                {"connection": conn.connection_id},
                connection_id=conn.connection_id,
            )
            outcome = await ingest.receive(self._sessions, client, self._settings, delivery)
            key = {"duplicate": "duplicates", "refused": "rejected", "deferred": "rejected"}.get(
                outcome.status, outcome.status
            )
            setattr(result, key, getattr(result, key) + 1)
        await connections.note(
            self._sessions, conn.connection_id, last_pull_at=started, orders_read_to=started
        )
        log.info("shop orders pulled", **result.model_dump())
        return io.ShopSyncResult(orders=result)

    # ---- stock levels --------------------------------------------------------------------------

    async def push_stock(self, inp: io.PushInventoryInput) -> io.PushInventoryResult:
        """Set each changed SKU's availability at every mapped shop location (called by the
        inventory sync of `conn:<id>`; ATP of the mapped locations, less the channel buffer)."""
        connection_id = inp.channel.removeprefix(CONNECTION_PREFIX)

        async def push(
            conn: connections.OpenConnection, shop: ShopClient
        ) -> io.PushInventoryResult:
            result = io.PushInventoryResult()
            if not conn.options.sync_inventory:
                return result
            skus = sorted(inp.enqueued_at)
            async with self._reads() as session:
                listings = [
                    r
                    for r in await connections.mapped_listings(session, connection_id)
                    if r.sku in inp.enqueued_at
                ]
                stock = await inventory.available_by_location(session, skus)
                promised = await demand.open_by_sku(session, skus)
                shared = await channel_shares.share_of(session, inp.channel, skus)
                buffers = await _buffers(session, conn.channel, [*skus, "*"])
                shown = {
                    (r.sku, r.location_ref): r.available
                    for r in await session.scalars(
                        select(ShopStockLevel).where(
                            ShopStockLevel.connection_id == connection_id,
                            ShopStockLevel.sku.in_(skus),
                        )
                    )
                }
            if not listings:
                return result
            places: dict[str, list[str] | None]
            if conn.options.location_map:
                places = {ref: conn.options.our_locations(ref) for ref in conn.options.location_map}
            else:
                first = (await shop.locations())[:1]
                places = {first[0].location_ref if first else "": None}
            levels: list[ShopStock] = []
            chosen: list[tuple[str, str, int]] = []
            for listing in listings:
                sku = str(listing.sku)
                buffer = buffers.get(sku, buffers.get("*"))
                if buffer is not None and not buffer.enabled:
                    continue
                # Units promised at intake come off the shop's places, largest first; a
                # shared-out SKU shows at most the shop's share over all its places.
                owed = promised.get(sku, 0)
                cap = shared.get(sku)
                by_place = {
                    ref: sum(
                        u
                        for (s, loc), u in stock.items()
                        if s == sku and (ours is None or loc in ours)
                    )
                    for ref, ours in places.items()
                }
                for ref in sorted(by_place, key=lambda r: (-by_place[r], r)):
                    taken = min(owed, by_place[ref])
                    by_place[ref] -= taken
                    owed -= taken
                for ref in places:
                    available = channel_atp(
                        by_place[ref],
                        buffer.buffer_units if buffer else 0,
                        buffer.buffer_pct if buffer else 0,
                    )
                    if cap is not None:
                        available = min(available, cap)
                        cap -= available
                    if shown.get((sku, ref)) == available:
                        result.unchanged += 1
                        continue
                    levels.append(
                        ShopStock(
                            inventory_item_id=listing.inventory_item_id,
                            available=available,
                            location_ref=ref,
                            listing_id=listing.listing_id,
                            parent_id=listing.parent_id,
                        )
                    )
                    chosen.append((sku, ref, available))
            if levels:
                await shop.set_stock(levels)
            now = utcnow()
            async with self._sessions.begin() as session:
                for sku, ref, available in chosen:
                    lag = max(0, int((now - inp.enqueued_at[sku]).total_seconds() * 1000))
                    await session.merge(
                        ShopStockLevel(
                            connection_id=connection_id,
                            sku=sku,
                            location_ref=ref,
                            available=available,
                            pushed_at=now,
                            lag_ms=lag,
                        )
                    )
                    result.pushed[sku] = result.pushed.get(sku, 0) + available
            if chosen:
                await connections.note(self._sessions, connection_id, last_push_at=now)
            return result

        return await self._call(connection_id, "stock push", push)

    # ---- what an order tells its shop ------------------------------------------------------------

    @activity.defn
    async def confirm_shipment_at_shop(self, inp: io.ShopFulfilmentInput) -> str:
        """Create the shop's fulfilment for a parcel that left (idempotent: the client checks
        for one with this tracking number first); returns the shop's fulfilment id."""
        structlog.contextvars.bind_contextvars(
            order_id=inp.order_id, connection_id=inp.connection_id
        )

        async def fulfil(conn: connections.OpenConnection, shop: ShopClient) -> str:
            return await shop.fulfil(
                ShopFulfilment(
                    order_ref=inp.external_id,
                    carrier=inp.carrier,
                    tracking_number=inp.tracking_number,
                    # Our public tracking page unless the carrier gave one.
                    tracking_url=inp.tracking_url
                    or f"{self._settings.public_base_url()}/track/{inp.tracking_number}",
                    lines=list(inp.lines),
                    last_parcel=inp.last_parcel,
                ),
                idempotency_key=inp.idempotency_key,
            )

        return await self._call(inp.connection_id, "fulfilment", fulfil)

    @activity.defn
    async def cancel_at_shop(self, inp: io.ShopMessageInput) -> None:
        """Cancel the order at the shop (an order already cancelled there is left as it is)."""
        structlog.contextvars.bind_contextvars(
            order_id=inp.order_id, connection_id=inp.connection_id
        )

        async def cancel(conn: connections.OpenConnection, shop: ShopClient) -> None:
            await shop.cancel(inp.external_id, reason=inp.text, idempotency_key=inp.idempotency_key)

        await self._call(inp.connection_id, "cancel", cancel)

    @activity.defn
    async def cancel_lines_at_shop(self, inp: io.ShopLinesInput) -> None:
        """Take cancelled units off the order's lines at the shop; the order goes on (done once
        per idempotency key: the client leaves a marker on the shop's order and looks for it)."""
        structlog.contextvars.bind_contextvars(
            order_id=inp.order_id, connection_id=inp.connection_id
        )

        async def cancel(conn: connections.OpenConnection, shop: ShopClient) -> None:
            await shop.cancel_lines(
                inp.external_id,
                list(inp.lines),
                reason=inp.reason,
                idempotency_key=inp.idempotency_key,
            )

        await self._call(inp.connection_id, "line cancel", cancel)

    @activity.defn
    async def note_at_shop(self, inp: io.ShopMessageInput) -> None:
        """Add a note to the order at the shop (a refund issued for a return)."""
        structlog.contextvars.bind_contextvars(
            order_id=inp.order_id, connection_id=inp.connection_id
        )

        async def add(conn: connections.OpenConnection, shop: ShopClient) -> None:
            await shop.note(inp.external_id, inp.text, idempotency_key=inp.idempotency_key)

        await self._call(inp.connection_id, "note", add)


async def _buffers(
    session: AsyncSession, channel: str, skus: list[str]
) -> dict[str, ChannelBuffer]:
    rows = await session.scalars(
        select(ChannelBuffer).where(ChannelBuffer.channel == channel, ChannelBuffer.sku.in_(skus))
    )
    return {row.sku: row for row in rows}

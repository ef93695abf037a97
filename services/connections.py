"""Connected shop accounts: connect and disconnect, the listing map, health.

A connection holds what the OMS needs to work with one Shopify store or WooCommerce site: where
its API is (`base_url`, any host: tests and the demo point it at local servers speaking the
platform's wire format), its credentials (sealed with the payload key, never returned), and
options (the location map, schedules). The map from the shop's items to our SKUs is filled by a
sync (by SKU, then barcode) and by hand (`map_listing`); an item it cannot place stays unmapped
and is listed, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import structlog
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.credentials import CredentialBox
from domain.connections import ConnectionOptions
from domain.errors import AlreadyExists, InvalidInput, NotFound
from integrations.channels.shop import ShopListing
from integrations.channels.shops import REQUIRED_CREDENTIALS, SHOP_CHANNELS
from store.channel_tables import ChannelDeadLetter
from store.connection_tables import ChannelConnection, ShopListingRow, ShopStockLevel
from store.tables import Location, Sku, StockChange, utcnow

log = structlog.get_logger(__name__)
MYSHOPIFY = ".myshopify.com"


@dataclass(frozen=True)
class ConnectionSpec:
    """A request to connect a shop account."""

    connection_id: str
    channel: str
    base_url: str | None
    credentials: Mapping[str, Any]
    options: Mapping[str, Any]


@dataclass(frozen=True)
class OpenConnection:
    """A connection with its credentials opened, for the activities that call the shop."""

    connection_id: str
    channel: str
    base_url: str
    shop_domain: str
    credentials: dict[str, Any]
    options: ConnectionOptions
    orders_read_to: datetime | None


@dataclass(frozen=True)
class ListingCounts:
    """What a listing sync found."""

    listings: int
    mapped: int
    unmapped: int
    newly_mapped: int


# ---- connect, list, disconnect ----------------------------------------------------------------


def parse_options(raw: Mapping[str, Any]) -> ConnectionOptions:
    """The options, or `InvalidInput` naming the first bad one."""
    try:
        return ConnectionOptions.model_validate(dict(raw))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(str(first.get("msg")), field=f"options.{where}") from err


def shopify_domain(shop: str) -> str:
    """`acme` or `acme.myshopify.com` (or its URL) -> `acme.myshopify.com`."""
    name = shop.strip().lower()
    name = urlsplit(name).netloc or name if "//" in name else name
    return name if "." in name else f"{name}{MYSHOPIFY}"


def _where(spec: ConnectionSpec, options: ConnectionOptions) -> tuple[str, str]:
    """(base_url, shop_domain) of a connection; `InvalidInput` when they cannot be told."""
    base_url = (spec.base_url or "").strip().rstrip("/")
    if spec.channel == "shopify":
        if options.shop is None and not base_url:
            raise InvalidInput("give base_url or options.shop", field="options.shop")
        domain = shopify_domain(options.shop) if options.shop else urlsplit(base_url).netloc
        base_url = base_url or f"https://{domain}"
    else:
        if not base_url:
            raise InvalidInput("the site's URL is required for WooCommerce", field="base_url")
        domain = urlsplit(base_url).netloc
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"{base_url!r} is not an http(s) URL", field="base_url")
    return base_url, domain.lower()


async def connect(
    sessions: async_sessionmaker[AsyncSession], box: CredentialBox, spec: ConnectionSpec
) -> ChannelConnection:
    """Store a new connection (a disconnected one of the same id is replaced)."""
    if spec.channel not in SHOP_CHANNELS:
        raise InvalidInput(
            f"{spec.channel!r} cannot be connected; one of {', '.join(SHOP_CHANNELS)}",
            field="channel",
        )
    for key in REQUIRED_CREDENTIALS[spec.channel]:
        if not str(spec.credentials.get(key) or "").strip():
            raise InvalidInput(f"{spec.channel} needs {key}", field=f"credentials.{key}")
    options = parse_options(spec.options)
    base_url, domain = _where(spec, options)
    async with sessions.begin() as session:
        await _check_locations(session, options)
        existing = await session.get(ChannelConnection, spec.connection_id)
        if existing is not None and existing.status == "active":
            raise AlreadyExists(
                f"connection {spec.connection_id!r} exists; DELETE it first to replace it",
                field="connection_id",
            )
        twin = await session.scalar(
            select(ChannelConnection.connection_id).where(
                ChannelConnection.channel == spec.channel,
                ChannelConnection.shop_domain == domain,
                ChannelConnection.status == "active",
                ChannelConnection.connection_id != spec.connection_id,
            )
        )
        if twin is not None:
            raise AlreadyExists(f"{domain} is already connected as {twin!r}", field="base_url")
        values = {
            "channel": spec.channel,
            "base_url": base_url,
            "shop_domain": domain,
            "credentials": box.seal(dict(spec.credentials), spec.connection_id),
            "options": options.model_dump(mode="json", exclude_defaults=True),
            "status": "active",
            "created_at": utcnow(),
            "last_sync_at": None,
            "orders_read_to": None,
            "last_pull_at": None,
            "last_push_at": None,
            "last_error": None,
            "last_error_at": None,
        }
        if existing is None:
            row = ChannelConnection(connection_id=spec.connection_id, **values)
            session.add(row)
        else:
            for key, value in values.items():
                setattr(existing, key, value)
            row = existing
    log.info("shop connected", connection_id=spec.connection_id, channel=spec.channel)
    return row


async def _check_locations(session: AsyncSession, options: ConnectionOptions) -> None:
    wanted = {loc for ref in options.location_map for loc in options.our_locations(ref)}
    if not wanted:
        return
    known = set(
        await session.scalars(select(Location.location_id).where(Location.location_id.in_(wanted)))
    )
    for ref in options.location_map:
        for loc in options.our_locations(ref):
            if loc not in known:
                raise InvalidInput(f"no location {loc!r}", field=f"options.location_map.{ref}")


async def list_connections(session: AsyncSession) -> list[ChannelConnection]:
    """Active connections, by id."""
    rows = await session.scalars(
        select(ChannelConnection)
        .where(ChannelConnection.status == "active")
        .order_by(ChannelConnection.connection_id)
    )
    return list(rows)


async def get_connection(session: AsyncSession, connection_id: str) -> ChannelConnection:
    """An active connection, or `NotFound`."""
    row = await session.get(ChannelConnection, connection_id)
    if row is None or row.status != "active":
        raise NotFound(f"no connection {connection_id!r}")
    return row


async def disconnect(sessions: async_sessionmaker[AsyncSession], connection_id: str) -> None:
    """Forget the credentials and stop syncing; the order history stays."""
    async with sessions.begin() as session:
        row = await get_connection(session, connection_id)
        row.status, row.credentials = "disconnected", ""
    log.info("shop disconnected", connection_id=connection_id)


async def find_by_domain(
    session: AsyncSession, channel: str, domain: str
) -> ChannelConnection | None:
    """The active connection whose webhooks name themselves `domain`."""
    return await session.scalar(
        select(ChannelConnection).where(
            ChannelConnection.channel == channel,
            ChannelConnection.shop_domain == domain.strip().lower(),
            ChannelConnection.status == "active",
        )
    )


def webhook_secret(box: CredentialBox, row: ChannelConnection) -> str:
    """The secret the shop signs its deliveries with."""
    return str(box.open(row.credentials, row.connection_id).get("webhook_secret") or "")


async def open_connection(
    sessions: async_sessionmaker[AsyncSession], box: CredentialBox, connection_id: str
) -> OpenConnection:
    """A connection with its credentials, for a call to the shop."""
    async with sessions() as session:
        row = await get_connection(session, connection_id)
    return OpenConnection(
        connection_id=row.connection_id,
        channel=row.channel,
        base_url=row.base_url,
        shop_domain=row.shop_domain,
        credentials=box.open(row.credentials, row.connection_id),
        options=ConnectionOptions.model_validate(row.options or {}),
        orders_read_to=row.orders_read_to,
    )


async def note(
    sessions: async_sessionmaker[AsyncSession],
    connection_id: str,
    *,
    error: str | None = None,
    **marks: datetime,
) -> None:
    """Record a call's outcome: `last_*_at` marks, and the last error (None clears it)."""
    values: dict[str, Any] = dict(marks)
    if error is not None:
        values |= {"last_error": error[:2000], "last_error_at": utcnow()}
    elif marks:
        values["last_error"] = None
    async with sessions.begin() as session:
        await session.execute(
            update(ChannelConnection)
            .where(ChannelConnection.connection_id == connection_id)
            .values(**values)
        )


# ---- the listing map ----------------------------------------------------------------------------


async def record_listings(
    sessions: async_sessionmaker[AsyncSession],
    connection_id: str,
    listings: Sequence[ShopListing],
) -> ListingCounts:
    """Store the shop's items and map each to a SKU: a manual mapping stays, else the item's
    SKU when we sell it, else its barcode; items gone from the shop are dropped."""
    now = utcnow()
    async with sessions.begin() as session:
        old = {
            r.listing_id: r
            for r in await session.scalars(
                select(ShopListingRow).where(ShopListingRow.connection_id == connection_id)
            )
        }
        skus = {s.strip() for s in (x.sku for x in listings) if s and s.strip()}
        barcodes = {b.strip() for b in (x.barcode for x in listings) if b and b.strip()}
        ours = set(await session.scalars(select(Sku.sku).where(Sku.sku.in_(skus))))
        by_barcode: dict[str, str] = {}
        if barcodes:
            for sku, barcode in await session.execute(
                select(Sku.sku, Sku.barcode).where(Sku.barcode.in_(barcodes))
            ):
                if barcode:
                    by_barcode.setdefault(barcode, sku)
        mapped = newly = 0
        seen = set()
        for item in listings:
            seen.add(item.listing_id)
            row = old.get(item.listing_id)
            if row is None:
                row = ShopListingRow(connection_id=connection_id, listing_id=item.listing_id)
                session.add(row)
            was = row.sku
            row.inventory_item_id, row.parent_id = item.inventory_item_id, item.parent_id
            row.title, row.shop_sku, row.barcode = item.title[:500], item.sku, item.barcode
            row.synced_at = now
            if row.mapped_by != "manual":
                shop_sku, barcode = (item.sku or "").strip(), (item.barcode or "").strip()
                if shop_sku in ours:
                    row.sku, row.mapped_by = shop_sku, "sku"
                elif barcode in by_barcode:
                    row.sku, row.mapped_by = by_barcode[barcode], "barcode"
                else:
                    row.sku, row.mapped_by = None, None
            mapped += row.sku is not None
            newly += row.sku is not None and row.sku != was
        for listing_id, row in old.items():
            if listing_id not in seen:
                await session.delete(row)
    return ListingCounts(len(listings), mapped, len(listings) - mapped, newly)


async def list_listings(
    session: AsyncSession, connection_id: str, *, mapped: bool | None = None
) -> list[ShopListingRow]:
    """The connection's listings (only unmapped ones with `mapped=False`), by title."""
    stmt = select(ShopListingRow).where(ShopListingRow.connection_id == connection_id)
    if mapped is True:
        stmt = stmt.where(ShopListingRow.sku.is_not(None))
    elif mapped is False:
        stmt = stmt.where(ShopListingRow.sku.is_(None))
    return list(
        await session.scalars(stmt.order_by(ShopListingRow.title, ShopListingRow.listing_id))
    )


async def map_listing(
    sessions: async_sessionmaker[AsyncSession],
    connection_id: str,
    listing_id: str,
    sku: str | None,
) -> ShopListingRow:
    """Map a listing to one of our SKUs by hand (None: back to automatic mapping next sync)."""
    async with sessions.begin() as session:
        await get_connection(session, connection_id)
        row = await session.get(ShopListingRow, (connection_id, listing_id))
        if row is None:
            raise NotFound(f"no listing {listing_id!r} on {connection_id!r} (sync first)")
        if sku is not None and await session.get(Sku, sku) is None:
            raise InvalidInput(f"no SKU {sku!r} in the catalogue", field="sku")
        row.sku, row.mapped_by = sku, "manual" if sku is not None else None
        if sku is not None:
            session.add(StockChange(sku=sku, changed_at=utcnow()))  # show its stock there now
    return row


async def skus_for_listings(
    session: AsyncSession, connection_id: str, listing_ids: Sequence[str]
) -> dict[str, str]:
    """listing id -> our SKU, for the mapped ones among `listing_ids`."""
    if not listing_ids:
        return {}
    rows = await session.execute(
        select(ShopListingRow.listing_id, ShopListingRow.sku).where(
            ShopListingRow.connection_id == connection_id,
            ShopListingRow.listing_id.in_(list(listing_ids)),
            ShopListingRow.sku.is_not(None),
        )
    )
    return {listing_id: sku for listing_id, sku in rows if sku}


async def mapped_listings(session: AsyncSession, connection_id: str) -> list[ShopListingRow]:
    """Every mapped listing of the connection."""
    return await list_listings(session, connection_id, mapped=True)


# ---- health ----------------------------------------------------------------------------------


async def health(session: AsyncSession, row: ChannelConnection) -> dict[str, Any]:
    """Last sync, pull and push, the last error, stock lag and open dead letters."""
    counts = dict(
        (mapped, n)
        for mapped, n in await session.execute(
            select(ShopListingRow.sku.is_not(None), func.count())
            .where(ShopListingRow.connection_id == row.connection_id)
            .group_by(ShopListingRow.sku.is_not(None))
        )
    )
    lag = await session.execute(
        select(func.max(ShopStockLevel.lag_ms), func.max(ShopStockLevel.pushed_at)).where(
            ShopStockLevel.connection_id == row.connection_id
        )
    )
    max_lag_ms, last_level_at = lag.one()
    dead = await session.scalar(
        select(func.count()).where(
            ChannelDeadLetter.connection_id == row.connection_id,
            ChannelDeadLetter.status == "open",
        )
    )
    return {
        "last_sync_at": row.last_sync_at,
        "last_pull_at": row.last_pull_at,
        "last_push_at": row.last_push_at or last_level_at,
        "last_error": row.last_error,
        "last_error_at": row.last_error_at,
        "stock_lag_ms": max_lag_ms,
        "dead_letters": dead or 0,
        "listings": sum(counts.values()),
        "unmapped_listings": counts.get(False, 0),
    }

"""The channels' shares of scarce SKUs, and the levels last shown at each channel, as the
channels' own sales count them down (see domain/allocation.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.channel_tables import ChannelInventoryLevel
from store.connection_tables import ChannelConnection, ShopListingRow, ShopStockLevel
from store.demand_tables import ChannelAllocation
from store.tables import utcnow

# The sync key of a connected shop's stock pushes (activities/shops.py uses the same).
CONNECTION_PREFIX = "conn:"


def selling_key(channel: str, connection_id: str | None) -> str:
    """Whose share an order of `channel` (through `connection_id`, if any) counts down."""
    return f"{CONNECTION_PREFIX}{connection_id}" if connection_id else channel


async def count_sale(session: AsyncSession, key: str, lines: Iterable[tuple[str, int]]) -> None:
    """The channel sold these units and counted them down itself: so does the OMS, for its
    share and for the level it last showed there (so no push repeats, or races, the count)."""
    sold: dict[str, int] = defaultdict(int)
    for sku, quantity in lines:
        sold[sku] += quantity
    for sku, units in sorted(sold.items()):
        await session.execute(
            update(ChannelAllocation)
            .where(ChannelAllocation.channel == key, ChannelAllocation.sku == sku)
            .values(
                units=func.max(ChannelAllocation.units - units, 0)
                if _sqlite(session)
                else func.greatest(ChannelAllocation.units - units, 0),
                sold_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        if key.startswith(CONNECTION_PREFIX):
            await _count_shop(session, key.removeprefix(CONNECTION_PREFIX), sku, units)
        else:
            row = await session.get(ChannelInventoryLevel, (key, sku))
            if row is not None:
                row.available = max(0, row.available - units)


async def _count_shop(session: AsyncSession, connection_id: str, sku: str, units: int) -> None:
    """Shops sell from some location: count down the ones showing most first."""
    rows = sorted(
        await session.scalars(
            select(ShopStockLevel).where(
                ShopStockLevel.connection_id == connection_id, ShopStockLevel.sku == sku
            )
        ),
        key=lambda r: (-r.available, r.location_ref),
    )
    for row in rows:
        if units <= 0:
            break
        taken = min(units, row.available)
        row.available -= taken
        units -= taken


def _sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


async def selling_channels(
    session: AsyncSession, skus: Sequence[str], marketplaces: Sequence[str]
) -> dict[str, list[str]]:
    """sku -> the channels its stock is shown at: the marketplaces pushed to, and the active
    shops with a listing mapped to it that keep stock in step."""
    shops = {
        c.connection_id: c
        for c in await session.scalars(
            select(ChannelConnection).where(ChannelConnection.status == "active")
        )
    }
    out: dict[str, list[str]] = {sku: list(marketplaces) for sku in skus}
    rows = await session.execute(
        select(ShopListingRow.sku, ShopListingRow.connection_id)
        .where(ShopListingRow.sku.in_(list(skus)))
        .distinct()
    )
    for sku, connection_id in rows.all():
        conn = shops.get(connection_id)
        if conn is None or not (conn.options or {}).get("sync_inventory", True):
            continue
        out[str(sku)].append(f"{CONNECTION_PREFIX}{connection_id}")
    return out


async def shares(session: AsyncSession, sku: str) -> dict[str, int]:
    """channel -> its share of `sku` (empty: the SKU is not shared out)."""
    return {a.channel: a.units for a in await _allocations(session, sku)}


async def last_sold(session: AsyncSession, sku: str) -> dict[str, datetime]:
    """channel -> when its last sale of `sku` was counted against its share."""
    return {a.channel: a.sold_at for a in await _allocations(session, sku) if a.sold_at is not None}


async def _allocations(session: AsyncSession, sku: str) -> list[ChannelAllocation]:
    return list(
        await session.scalars(select(ChannelAllocation).where(ChannelAllocation.sku == sku))
    )


async def share_of(session: AsyncSession, key: str, skus: Sequence[str]) -> dict[str, int]:
    """sku -> this channel's share, for the SKUs that are shared out."""
    rows = await session.execute(
        select(ChannelAllocation.sku, ChannelAllocation.units).where(
            ChannelAllocation.channel == key, ChannelAllocation.sku.in_(list(skus))
        )
    )
    return {sku: int(units) for sku, units in rows.all()}


async def drop_shares(session: AsyncSession, skus: Sequence[str]) -> None:
    """No shares for these SKUs: shown whole to every channel."""
    await session.execute(delete(ChannelAllocation).where(ChannelAllocation.sku.in_(list(skus))))


async def set_shares(session: AsyncSession, sku: str, new: Mapping[str, int]) -> None:
    """Replace the SKU's shares (no rows: shown whole to every channel again); each channel
    keeps when it last sold."""
    sold = await last_sold(session, sku)
    await session.execute(delete(ChannelAllocation).where(ChannelAllocation.sku == sku))
    if new:
        session.add_all(
            ChannelAllocation(channel=c, sku=sku, units=u, sold_at=sold.get(c))
            for c, u in sorted(new.items())
        )
        await session.flush()

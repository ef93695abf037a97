"""The channels' shares of scarce SKUs, and the levels last shown at each channel, as the
channels' own sales count them down (see domain/allocation.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.channel_tables import ChannelInventoryLevel
from store.connection_tables import ChannelConnection, ShopListingRow, ShopStockLevel
from store.demand_tables import ChannelAllocation
from store.dialect import at_least_zero
from store.tables import utcnow

# The sync key of a connected shop's stock pushes (activities/shops.py uses the same).
CONNECTION_PREFIX = "conn:"


def selling_key(channel: str, connection_id: str | None) -> str:
    """Whose share an order of `channel` (through `connection_id`, if any) counts down."""
    return f"{CONNECTION_PREFIX}{connection_id}" if connection_id else channel


async def count_sale(session: AsyncSession, key: str, lines: Iterable[tuple[str, int]]) -> None:
    """The channel sold these units and counted them down itself: so does the OMS, for its
    share and for the level it last showed there (so no push repeats, or races, the count)."""
    await count_sales(session, [(key, sku, units) for sku, units in lines])


async def count_sales(session: AsyncSession, sales: Iterable[tuple[str, str, int]]) -> None:
    """`count_sale` for many (channel key, sku, units) at once: one read per table for all
    of them, a write only where a share or a shown level exists."""
    sold: dict[tuple[str, str], int] = defaultdict(int)
    for key, sku, units in sales:
        sold[(key, sku)] += units
    if not sold:
        return
    now = utcnow()
    await _count_down(session, ChannelAllocation.units, sold, sold_at=now, updated_at=now)
    marketplaces = {k: v for k, v in sold.items() if not k[0].startswith(CONNECTION_PREFIX)}
    await _count_down(session, ChannelInventoryLevel.available, marketplaces)
    for (key, sku), units in sorted(sold.items()):
        if key.startswith(CONNECTION_PREFIX):
            await _count_shop(session, key.removeprefix(CONNECTION_PREFIX), sku, units)
    await session.flush()


async def _count_down(
    session: AsyncSession, column: Any, sold: Mapping[tuple[str, str], int], **also: Any
) -> None:
    """Take `sold[(channel, sku)]` off `column` of the rows that exist (one read for all),
    atomically: another process may count at the same time."""
    if not sold:
        return
    table = column.class_
    existing = await session.execute(
        select(table.channel, table.sku).where(
            table.channel.in_(sorted({k for k, _ in sold})),
            table.sku.in_(sorted({s for _, s in sold})),
        )
    )
    for key, sku in sorted(existing.all()):
        if units := sold.get((key, sku), 0):
            await session.execute(
                update(table)
                .where(table.channel == key, table.sku == sku)
                .values({column.key: at_least_zero(session, column - units), **also})
            )


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


async def shares_many(
    session: AsyncSession, skus: Sequence[str]
) -> dict[str, list[ChannelAllocation]]:
    """sku -> its shares (rows), for many SKUs at once (absent: not shared out)."""
    out: dict[str, list[ChannelAllocation]] = defaultdict(list)
    rows = await session.scalars(
        select(ChannelAllocation).where(ChannelAllocation.sku.in_(list(skus)))
    )
    for row in rows:
        out[row.sku].append(row)
    return out


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


async def any_shares(session: AsyncSession, skus: Sequence[str]) -> bool:
    """Whether any of these SKUs is shared out now."""
    found = await session.scalar(
        select(ChannelAllocation.sku).where(ChannelAllocation.sku.in_(list(skus))).limit(1)
    )
    return found is not None


async def drop_shares(session: AsyncSession, skus: Sequence[str]) -> None:
    """No shares for these SKUs: shown whole to every channel."""
    await session.execute(delete(ChannelAllocation).where(ChannelAllocation.sku.in_(list(skus))))


async def set_shares(session: AsyncSession, sku: str, new: Mapping[str, int]) -> None:
    """Replace the SKU's shares (no rows: shown whole to every channel again); each channel
    keeps when it last sold."""
    sold = await last_sold(session, sku)
    await drop_shares(session, [sku])
    if new:
        session.add_all(
            ChannelAllocation(channel=c, sku=sku, units=u, sold_at=sold.get(c))
            for c, u in sorted(new.items())
        )
        await session.flush()

"""Share scarce SKUs out between the channels that sell them (domain/allocation.py), run by
the stock-change relay before it tells the channels' syncs, so each push carries its share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.allocation import QUIET_S, share_out, shares_apply
from store import channel_shares, demand
from store.db import readers
from store.demand_tables import ChannelAllocation
from store.tables import utcnow


@dataclass
class Reshared:
    """What a reshare found: the scarce SKUs (shared out now), and those whose shares wait
    for a selling channel to go quiet, with when to look again (nothing may change in stock
    by then, so the caller must come back itself)."""

    scarce: set[str] = field(default_factory=set)
    recheck: dict[str, datetime] = field(default_factory=dict)


async def reshare(
    sessions: async_sessionmaker[AsyncSession],
    skus: Sequence[str],
    marketplaces: Sequence[str],
    share_below: int,
) -> Reshared:
    """New shares for `skus` whose stock changed: a look on the reader per SKU, and for the
    SKUs whose shares move a short transaction under the SKU's demand lock (so intake and
    other relays see them whole). A SKU that is no longer scarce loses its shares and is
    shown whole again. A SKU skipped on a stale look is looked at again on its next change.
    """
    found = Reshared()
    if share_below <= 0:  # sharing off (or switched off): every channel is shown the whole
        async with readers(sessions)() as session:  # a read first: the writer is precious
            shared = await channel_shares.any_shares(session, skus)
        if shared:
            async with sessions.begin() as session:
                await channel_shares.drop_shares(session, skus)
        return found
    wanted = sorted(set(skus))
    # A first look on the reader, all SKUs at once: most changes move no share (abundant
    # SKUs, or channels still selling), and a look needs no writer, which intake queues for.
    async with readers(sessions)() as session:
        atp = await demand.network_atp_many(session, wanted)
        channels = await channel_shares.selling_channels(session, wanted, marketplaces)
        rows = await channel_shares.shares_many(session, wanted)
    moving = [
        sku
        for sku in wanted
        if _next_shares(sku, atp[sku], channels[sku], rows.get(sku, []), share_below, found)
        is not None
    ]
    for sku in moving:  # again under the SKU's lock, then write
        async with sessions.begin() as session:
            locked = await demand.network_atp_locked(session, sku)
            held = (await channel_shares.shares_many(session, [sku])).get(sku, [])
            new = _next_shares(sku, locked, channels[sku], held, share_below, found)
            if new is not None:
                await channel_shares.set_shares(session, sku, new)
    return found


def _next_shares(
    sku: str,
    atp: int,
    channels: Sequence[str],
    rows: Sequence[ChannelAllocation],
    share_below: int,
    found: Reshared,
) -> dict[str, int] | None:
    """The SKU's new shares ({}: no longer shared), or None when they stay as they are;
    notes in `found` whether it is scarce and when to look again."""
    held = {r.channel: r.units for r in rows}
    if not shares_apply(atp, len(channels), share_below):
        found.scarce.discard(sku)
        found.recheck.pop(sku, None)
        return {} if held else None
    found.scarce.add(sku)
    now = utcnow()
    sold = {r.channel: r.sold_at for r in rows if r.sold_at is not None}
    selling = {c for c, at in sold.items() if (now - at).total_seconds() < QUIET_S}
    new = share_out(atp, channels, held, selling)
    if selling and share_out(atp, channels, held) != new:
        found.recheck[sku] = max(sold[c] for c in selling) + timedelta(seconds=QUIET_S)
    else:
        found.recheck.pop(sku, None)
    return new if new != held else None

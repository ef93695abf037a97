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
    """New shares for `skus` whose stock changed (one short transaction per SKU, under the
    SKU's demand lock, so intake and other relays see them whole). A SKU that is no longer
    scarce loses its shares and is shown whole again.
    """
    found = Reshared()
    if share_below <= 0:  # sharing off (or switched off): every channel is shown the whole
        async with readers(sessions)() as session:  # a read first: the writer is precious
            shared = await channel_shares.any_shares(session, skus)
        if shared:
            async with sessions.begin() as session:
                await channel_shares.drop_shares(session, skus)
        return found
    for sku in sorted(set(skus)):
        async with sessions.begin() as session:
            atp = await demand.network_atp_locked(session, sku)
            channels = (await channel_shares.selling_channels(session, [sku], marketplaces))[sku]
            held = await channel_shares.shares(session, sku)
            if not shares_apply(atp, len(channels), share_below):
                if held:
                    await channel_shares.set_shares(session, sku, {})
                continue
            found.scarce.add(sku)
            now = utcnow()
            sold = await channel_shares.last_sold(session, sku)
            selling = {c for c, at in sold.items() if (now - at).total_seconds() < QUIET_S}
            new = share_out(atp, channels, held, selling)
            if new != held:
                await channel_shares.set_shares(session, sku, new)
            if selling and share_out(atp, channels, held) != new:
                found.recheck[sku] = max(sold[c] for c in selling) + timedelta(seconds=QUIET_S)
    return found

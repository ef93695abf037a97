"""Share scarce SKUs out between the channels that sell them (domain/allocation.py), run by
the stock-change relay before it tells the channels' syncs, so each push carries its share."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.allocation import share_out, shares_apply
from store import channel_shares, demand


async def reshare(
    sessions: async_sessionmaker[AsyncSession],
    skus: Sequence[str],
    marketplaces: Sequence[str],
    share_below: int,
) -> None:
    """New shares for `skus` whose stock changed (one short transaction per SKU, under the
    SKU's demand lock, so intake and other relays see them whole). A SKU that is no longer
    scarce loses its shares and is shown whole again."""
    if share_below <= 0:
        return
    for sku in sorted(set(skus)):
        async with sessions.begin() as session:
            atp = await demand.network_atp_locked(session, sku)
            channels = (await channel_shares.selling_channels(session, [sku], marketplaces))[sku]
            held = await channel_shares.shares(session, sku)
            if not shares_apply(atp, len(channels), share_below):
                if held:
                    await channel_shares.set_shares(session, sku, {})
                continue
            new = share_out(atp, channels, held)
            if new != held:
                await channel_shares.set_shares(session, sku, new)

"""Scarce stock shared out between channels: a selling channel's share is left alone until it
goes quiet, and the relay is told when to look again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.allocation import QUIET_S
from services.stock_shares import reshare
from store import channel_shares, demand, inventory
from store.db import session_factory
from store.demand import Wanted
from store.demand_tables import ChannelAllocation
from store.tables import Location, Sku, utcnow

MARKETS = ("amazon", "ebay", "walmart")


async def test_a_selling_channel_waits_for_quiet_before_shares_move(
    migrated_engine: AsyncEngine,
) -> None:
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        session.add(Location(location_id="L1", name="L1", kind="warehouse", lat=0, lon=0))
        session.add(Sku(sku="HOT", name="hot item"))
        await session.flush()
        await inventory.adjust(session, "HOT", "L1", 60, "receipt", kind="receipt")
    first = await reshare(sessions, ["HOT"], MARKETS, 50)
    assert (first.scarce, first.recheck) == ({"HOT"}, {})
    async with sessions() as session:
        assert await channel_shares.shares(session, "HOT") == dict.fromkeys(MARKETS, 20)

    # eBay sells 15 (intake takes the demand and counts its share down, in one transaction).
    async with sessions.begin() as session:
        await demand.take_at_intake(session, "o1", [Wanted("1", "HOT", 15)])
        await channel_shares.count_sale(session, "ebay", [("HOT", 15)])
    recheck = (await reshare(sessions, ["HOT"], MARKETS, 50)).recheck
    async with sessions() as session:
        held = await channel_shares.shares(session, "HOT")
    assert held == {"amazon": 20, "ebay": 5, "walmart": 20}  # nobody is pushed mid-sale
    assert set(recheck) == {"HOT"}
    assert recheck["HOT"] - utcnow() <= timedelta(seconds=QUIET_S)

    # Quiet now: amazon and walmart give back what is well over fair, eBay gets it.
    async with sessions.begin() as session:
        await session.execute(
            update(ChannelAllocation)
            .where(ChannelAllocation.channel == "ebay")
            .values(sold_at=utcnow() - timedelta(seconds=QUIET_S + 1))
        )
    assert (await reshare(sessions, ["HOT"], MARKETS, 50)).recheck == {}
    async with sessions() as session:
        assert await channel_shares.shares(session, "HOT") == {
            "amazon": 18,
            "ebay": 9,
            "walmart": 18,
        }
        # each channel still knows when it last sold
        assert set(await channel_shares.last_sold(session, "HOT")) == {"ebay"}

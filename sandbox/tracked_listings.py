"""Marketplace listings with tracked inventory, as the flash-sale simulator's channels.

A platform with tracked inventory sells a listing only while the quantity it holds is above
zero, counts its own sales down, and holds whatever quantity the seller's last inventory call
set (an absolute set). The quantity is read back from the documented request each sandbox
marketplace recorded (`sandbox_channel_pushes`), in that platform's own wire format.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sandbox.tables import SandboxChannelPush


def pushed_quantity(channel: str, body: dict[str, Any]) -> int | None:
    """The quantity an inventory request sets, read as the platform reads it."""
    try:
        if channel == "amazon":  # Listings Items PATCH of fulfillment_availability
            return int(body["patches"][0]["value"][0]["quantity"])
        if channel == "ebay":  # bulk_update_price_quantity
            return int(body["requests"][0]["shipToLocationAvailability"]["quantity"])
        if channel == "walmart":  # PUT /v3/inventory
            return int(body["quantity"]["amount"])
        if channel == "etsy":  # PUT listings/{id}/inventory
            return int(body["products"][0]["offerings"][0]["quantity"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return None


class TrackedListings:
    """One SKU's listing at each channel: the quantity last set, less the sales since."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], sku: str, channels: Sequence[str]
    ) -> None:
        self._sessions, self.sku = sessions, sku
        self.held = dict.fromkeys(channels, 0)
        self._seen: dict[str, int] = {}
        self.sets = 0

    async def look(self) -> None:
        """Apply each channel's newest inventory request since the last look."""
        newest = (
            select(SandboxChannelPush.channel, func.max(SandboxChannelPush.id).label("id"))
            .where(
                SandboxChannelPush.sku == self.sku,
                SandboxChannelPush.kind == "inventory",
                SandboxChannelPush.channel.in_(list(self.held)),
            )
            .group_by(SandboxChannelPush.channel)
            .subquery()
        )
        async with self._sessions() as session:
            rows = await session.execute(
                select(
                    SandboxChannelPush.channel, SandboxChannelPush.id, SandboxChannelPush.body
                ).join(newest, newest.c.id == SandboxChannelPush.id)
            )
            for channel, push_id, body in rows.all():
                if self._seen.get(channel) == push_id:
                    continue
                quantity = pushed_quantity(channel, body)
                if quantity is None:
                    continue
                self._seen[channel] = push_id
                self.held[channel] = quantity
                self.sets += 1

    def told_all(self) -> bool:
        """Whether every channel has been set a quantity yet."""
        return set(self._seen) == set(self.held)

    def sell(self, channel: str) -> bool:
        """One unit, if the listing shows any."""
        if self.held[channel] <= 0:
            return False
        self.held[channel] -= 1
        return True

"""A sales channel that accepts every call and records it, as the channels' sandbox endpoint."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.channels.base import ChannelRequest, InventoryLevel
from integrations.channels.registry import InventoryBuilder, inventory_builder
from sandbox.tables import SandboxChannelPush

log = structlog.get_logger(__name__)


class SandboxChannel:
    """`ChannelEndpoint` that records each documented request in `sandbox_channel_pushes`."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channel: str,
        builder: InventoryBuilder | None = None,
    ) -> None:
        self.channel = channel
        self._sessions = sessions
        self._build = builder or inventory_builder(channel)

    async def push_inventory(self, levels: Sequence[InventoryLevel]) -> None:
        """Record one documented inventory request per SKU."""
        async with self._sessions.begin() as session:
            for level in levels:
                self._record(session, self._build(level), "inventory")
        log.debug("inventory push recorded", channel=self.channel, skus=len(levels))

    async def send(self, request: ChannelRequest, kind: str) -> None:
        """Record a fulfilment or cancel request."""
        async with self._sessions.begin() as session:
            self._record(session, request, kind)

    def _record(self, session: AsyncSession, request: ChannelRequest, kind: str) -> None:
        session.add(
            SandboxChannelPush(
                channel=self.channel,
                kind=kind,
                sku=request.sku,
                method=request.method,
                path=request.path,
                body=request.body,
            )
        )

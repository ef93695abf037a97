"""Where channel requests go: the channel's real API (the recorder is `sandbox.channels`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import httpx

from integrations.channels.base import ChannelRequest, InventoryLevel
from integrations.channels.registry import InventoryBuilder, inventory_builder


class ChannelEndpoint(Protocol):
    """Sends documented requests to one channel account."""

    channel: str

    async def push_inventory(self, levels: Sequence[InventoryLevel]) -> None:
        """Set the channel's availability of each SKU (absolute levels: safe to repeat)."""
        ...

    async def send(self, request: ChannelRequest, kind: str) -> None:
        """Send one fulfilment or cancel request."""
        ...


class HttpChannel:
    """The channel's REST API on a configurable base URL (tests use `httpx.MockTransport`)."""

    def __init__(
        self,
        channel: str,
        base_url: str,
        headers: Mapping[str, str],
        builder: InventoryBuilder | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.channel = channel
        self._build = builder or inventory_builder(channel)
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=dict(headers), transport=transport, timeout=30.0
        )

    async def push_inventory(self, levels: Sequence[InventoryLevel]) -> None:
        """One documented call per SKU; a 429 or 5xx raises so the activity retries."""
        for level in levels:
            await self.send(self._build(level), "inventory")

    async def send(self, request: ChannelRequest, kind: str) -> None:
        """Send one request; raises on an error status."""
        response = await self._http.request(request.method, request.path, json=request.body)
        response.raise_for_status()

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

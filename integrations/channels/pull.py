"""Pull channels (marketplaces without webhooks we can rely on): the shared HTTP client shape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from integrations.channels.base import ChannelAction

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@dataclass(frozen=True)
class PulledOrder:
    """One order as the channel returned it; `version` changes whenever the order does."""

    external_id: str
    version: str
    doc: dict[str, Any]


@dataclass(frozen=True)
class PullPage:
    """Orders changed since a cursor, and the cursor to read from next time."""

    orders: list[PulledOrder]
    cursor: str


class Puller(Protocol):
    """Reads orders changed since a cursor from one channel account."""

    channel: str

    async def fetch(self, since: str) -> PullPage:
        """Every order changed at or after `since` (an opaque cursor), all pages."""
        ...

    async def aclose(self) -> None:
        """Close the HTTP client."""
        ...


class HttpPuller:
    """An httpx client on a configurable base URL (tests pass `httpx.MockTransport`)."""

    channel = ""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        transport: httpx.AsyncBaseTransport | None = None,
        max_pages: int = 50,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=dict(headers), transport=transport, timeout=DEFAULT_TIMEOUT
        )
        # Bounds one poll: the cursor only advances over what was read, the next run continues.
        self._max_pages = max_pages

    async def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET JSON; 429 and 5xx raise, so the activity's retry policy backs off."""
        response = await self._http.get(path, params=dict(params or {}))
        response.raise_for_status()
        return response.json()

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()


class DocInterpreter(Protocol):
    """Maps one pulled document to what it asks of us."""

    def __call__(self, doc: dict[str, Any]) -> ChannelAction: ...

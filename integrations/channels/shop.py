"""What the OMS needs from a connected shop (Shopify, WooCommerce): its catalogue, stock levels,
fulfilments, cancellations (whole orders, or units of some lines), notes, and the orders it took
(a reconciliation pull).

Each platform implements `ShopClient` on its current API (Shopify: the GraphQL Admin API;
WooCommerce: REST v3) behind a configurable `base_url`, so tests and the demo run the real
client against a local server that speaks the platform's wire format. Calls that change the
shop carry an idempotency key; a client makes a retry harmless (a platform key, or a check
first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from integrations.errors import IntegrationError


@dataclass(frozen=True)
class ShopListing:
    """One sellable item at the shop (a Shopify variant; a WooCommerce product or variation)."""

    # The shop's id of the item: what an order line names (Shopify variant id; WooCommerce
    # variation id, or product id for a simple product).
    listing_id: str
    # What stock updates address (Shopify InventoryItem id; WooCommerce: the listing id).
    inventory_item_id: str
    title: str
    sku: str | None = None
    barcode: str | None = None
    # The product a variant or variation belongs to (WooCommerce needs it to update stock).
    parent_id: str | None = None


@dataclass(frozen=True)
class ShopStock:
    """Availability to set for one item at one shop location."""

    inventory_item_id: str
    available: int
    # The shop's location id (Shopify Location); empty where the shop keeps one stock level.
    location_ref: str = ""
    listing_id: str = ""
    parent_id: str | None = None


@dataclass(frozen=True)
class ShopFulfilment:
    """A parcel to report back to the shop that sold it."""

    order_ref: str
    carrier: str
    tracking_number: str
    tracking_url: str
    # (the shop's line item id, quantity); empty: every line of the order.
    lines: list[tuple[str, int]] = field(default_factory=list)
    # Every parcel of the order has now left (WooCommerce then marks the order completed).
    last_parcel: bool = False


@dataclass(frozen=True)
class ShopLocation:
    """A place the shop keeps stock (Shopify Location); WooCommerce has one, id ""."""

    location_ref: str
    name: str


@dataclass(frozen=True)
class ShopOrder:
    """An order read back from the shop (reconciliation), in its webhook's shape.

    `topic` is the webhook topic this state of the order would have been delivered under
    (Shopify `orders/create` / `orders/paid` / `orders/cancelled`; WooCommerce
    `order.updated`), and `doc` that webhook's JSON body, so ingest treats a pulled order
    exactly like a delivered one. `version` changes whenever the order does (`updated_at`).
    """

    external_id: str
    version: str
    topic: str
    doc: dict[str, Any]


class ShopUnavailable(IntegrationError):
    """The shop is down or throttling (429 with its Retry-After): retry later."""

    retryable = True

    def __init__(self, code: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(code, message)
        self.code, self.message, self.retry_after_s = code, message, retry_after_s


class ShopRequestError(IntegrationError):
    """The shop refused the request (bad credentials, unknown order, invalid input)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code, self.message = code, message


class ShopClient(Protocol):
    """One connected shop account."""

    channel: str

    async def listings(self) -> list[ShopListing]:
        """Every sellable item (all pages)."""
        ...

    async def locations(self) -> list[ShopLocation]:
        """The shop's stock locations."""
        ...

    async def subscribe_webhooks(self, callback_url: str) -> list[str]:
        """Subscribe the order topics we handle to `callback_url` (safe to repeat: existing
        subscriptions are kept, not doubled); returns the subscribed topics."""
        ...

    async def set_stock(self, levels: Sequence[ShopStock]) -> None:
        """Set absolute availability (safe to repeat)."""
        ...

    async def fulfil(self, fulfilment: ShopFulfilment, *, idempotency_key: str) -> str:
        """Record a shipment with its carrier and tracking number; returns the shop's id."""
        ...

    async def cancel(self, order_ref: str, *, reason: str, idempotency_key: str) -> None:
        """Cancel an order at the shop (we could not or did not fulfil it)."""
        ...

    async def cancel_lines(
        self,
        order_ref: str,
        lines: Sequence[tuple[str, int]],
        *,
        reason: str,
        idempotency_key: str,
    ) -> None:
        """Take units off lines of an order that goes on (a partial cancel). `lines` are (line
        id, units taken off); our line ids are the shop's line item ids (the mappers keep them).
        Neither money nor stock moves at the shop: refunding an order paid there is the shop's
        call, and stock levels are ours to push. Done once per key, however often repeated."""
        ...

    async def note(self, order_ref: str, text: str, *, idempotency_key: str) -> None:
        """Add a note to an order (a refund issued for a return)."""
        ...

    async def orders_since(self, since: datetime) -> list[ShopOrder]:
        """Orders created or updated at or after `since` (all pages), oldest first."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP client."""
        ...

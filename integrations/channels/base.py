"""What every channel adapter shares: actions, errors, reverse requests and mapping helpers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import ValidationError

from domain.models import Address, CanonicalOrder, ShippingService
from domain.money import q

T = TypeVar("T")

# Marketplace orders are already paid at the channel; the token names where the money is, so
# the gateway's authorization is a record of that payment rather than a new card charge.
PAID_AT_CHANNEL = "channel-paid"


class MappingError(Exception):
    """A payload that cannot become a canonical order: `field` says where, the message why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


# The SKU of a line the shop sent without one (WooCommerce: optional); the ingest service
# resolves it through the connection's listing map (`CreateOrder.listings`).
UNMAPPED_SKU = "-"


@dataclass(frozen=True)
class CreateOrder:
    """The delivery asks for a new order (idempotent on channel + external id).

    `listings` maps each line id to the shop's listing id (variant, product or variation),
    which names the item when the line has no SKU of its own. `awaiting_payment`: the shop
    has not been paid yet (Shopify `pending`, WooCommerce `pending`/`on-hold`); the order is
    taken in and held until a `PaymentReceived` for it arrives.
    """

    order: CanonicalOrder
    listings: Mapping[str, str] = field(default_factory=dict)
    awaiting_payment: bool = False


@dataclass(frozen=True)
class PaymentReceived:
    """The shop was paid for an order it sent earlier (Shopify `orders/paid`)."""

    external_id: str


@dataclass(frozen=True)
class CancelOrder:
    """The channel cancelled an order it sent earlier."""

    external_id: str
    reason: str


@dataclass(frozen=True)
class Ignore:
    """A delivery that needs nothing from us (a status we do not act on, a ping)."""

    reason: str


ChannelAction = CreateOrder | CancelOrder | PaymentReceived | Ignore


@dataclass(frozen=True)
class InventoryLevel:
    """Availability of one SKU as a channel should show it."""

    sku: str
    available: int
    listing_id: str = ""
    location_ref: str = ""

    @property
    def item_id(self) -> str:
        """The channel's id of the item: its listing when mapped, else the SKU itself."""
        return self.listing_id or self.sku


@dataclass(frozen=True)
class ShipmentNotice:
    """A shipment to report back to the channel that sold it."""

    external_id: str
    carrier: str
    tracking_number: str
    tracking_url: str
    shipped_at: datetime
    lines: list[tuple[str, int]] = field(default_factory=list)  # (channel line id, quantity)


@dataclass(frozen=True)
class ChannelRequest:
    """One call to a channel's API, in its documented shape."""

    method: str
    path: str
    body: dict[str, Any]
    sku: str | None = None


# ---- signatures ---------------------------------------------------------------------------------


def hmac_b64(secret: str, body: bytes) -> str:
    """Base64 HMAC-SHA256 of the raw body: how Shopify and WooCommerce sign webhooks."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signature_valid(secrets: Iterable[str | None], body: bytes, presented: str | None) -> bool:
    """True when `presented` matches the body under any configured secret (rotation)."""
    if not presented:
        return False
    ok = False
    for secret in secrets:
        if secret:
            # Check every secret, so timing does not reveal which one (if any) matched.
            ok |= hmac.compare_digest(hmac_b64(secret, body).encode(), presented.strip().encode())
    return ok


# ---- mapping helpers ----------------------------------------------------------------------------


def parse_json(body: bytes) -> dict[str, Any]:
    """The JSON object of a delivery, or a `MappingError` saying why not."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError) as err:
        raise MappingError("body", f"not JSON ({err})") from err
    if not isinstance(doc, dict):
        raise MappingError("body", "not a JSON object")
    return doc


def get(doc: Any, path: str, default: Any = None) -> Any:
    """`doc["a"]["b"][0]` for `a.b.0`, or `default` when any step is missing."""
    node = doc
    for part in path.split("."):
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
        if node is None:
            return default
    return node


def need(doc: Any, path: str, where: str | None = None) -> Any:
    """Like `get`, but a missing or empty value is a `MappingError` naming the field."""
    value = get(doc, path)
    if value is None or value == "" or value == []:
        raise MappingError(where or path, "is missing")
    return value


def money(value: Any, where: str) -> Decimal:
    """A decimal amount from a string or number, to the cent."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as err:
        raise MappingError(where, f"{value!r} is not an amount") from err
    if not amount.is_finite() or amount < 0:
        raise MappingError(where, f"{value!r} is not an amount")
    return q(amount)


def quantity(value: Any, where: str) -> int:
    """A positive whole quantity."""
    try:
        number = int(str(value))
    except ValueError as err:
        raise MappingError(where, f"{value!r} is not a quantity") from err
    if number <= 0:
        raise MappingError(where, f"{number} is not a positive quantity")
    return number


def unit_price(line_total: Decimal, qty: int) -> Decimal:
    """Unit price from a line total (channels that report totals per line)."""
    return q(line_total / qty)


def service_from(text: str | None) -> ShippingService:
    """Map a channel's shipping method name to our service level."""
    name = (text or "").lower().replace("-", " ").replace("_", " ")
    if any(k in name for k in ("overnight", "next day", "nextday", "one day", "oneday")):
        return "overnight"
    if any(k in name for k in ("express", "expedited", "2 day", "two day", "second", "priority")):
        return "express"
    if any(k in name for k in ("economy", "value", "saver", "freight")):
        return "economy"
    return "standard"


ALPHA3 = {"USA": "US", "CAN": "CA", "GBR": "GB", "DEU": "DE", "FRA": "FR", "AUS": "AU", "MEX": "MX"}


def country(value: Any, where: str) -> str:
    """ISO alpha-2 country from alpha-2 or alpha-3."""
    code = str(value or "").strip().upper()
    code = ALPHA3.get(code, code)
    if len(code) != 2 or not code.isalpha():
        raise MappingError(where, f"{value!r} is not a country code")
    return code


def build(where: str, make: Callable[[], T]) -> T:
    """Run a pydantic constructor; its first error becomes a `MappingError` under `where`."""
    try:
        return make()
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        raise MappingError(f"{where}.{loc}" if loc else where, str(first.get("msg"))) from err


def address(where: str, **fields: Any) -> Address:
    """An `Address` from mapped fields, blanks dropped so defaults apply."""
    clean = {k: str(v).strip() for k, v in fields.items() if v not in (None, "")}
    return build(where, lambda: Address(**clean))


def text(value: Any) -> str | None:
    """A value as trimmed text, or None when it is missing or blank."""
    if value is None:
        return None
    return str(value).strip() or None


def canonical(**fields: Any) -> CanonicalOrder:
    """The canonical order; a validation problem is reported under its canonical field."""
    return build("order", lambda: CanonicalOrder(**fields))

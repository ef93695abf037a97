"""Shopify: order webhooks in (`orders/create|updated|paid|cancelled`), what they ask of us.

Everything we send back (stock, fulfilments, cancellations, notes) goes through the GraphQL
Admin API client of a connection (`shopify_admin.py`); Shopify calls its REST Admin API legacy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from domain.models import CanonicalOrder, Customer, OrderLine, PaymentMethod
from domain.money import q
from integrations.channels.base import (
    PAID_AT_CHANNEL,
    UNMAPPED_SKU,
    CancelOrder,
    ChannelAction,
    CreateOrder,
    Ignore,
    MappingError,
    address,
    build,
    canonical,
    country,
    get,
    money,
    need,
    parse_json,
    quantity,
    service_from,
    text,
)

CHANNEL = "shopify"
API_VERSION = "2024-10"  # the legacy REST builders below; the GraphQL client has its own

# Shopify sends `X-Shopify-*` headers; its newer deliveries (and current SDKs, see
# `ShopifyEventsHeader` in Shopify/shopify-app-js) use the same names without `x-`. Each
# tuple lists the canonical spelling first: that is the name a kept header is stored under.
SIGNATURE_HEADERS = ("x-shopify-hmac-sha256", "shopify-hmac-sha256")
TOPIC_HEADERS = ("x-shopify-topic", "shopify-topic")
SHOP_DOMAIN_HEADERS = ("x-shopify-shop-domain", "shopify-shop-domain")
# The event id is stable across retries of one event; the webhook id is the older equivalent.
EVENT_ID_HEADERS = ("x-shopify-event-id", "shopify-event-id")
WEBHOOK_ID_HEADERS = ("x-shopify-webhook-id", "shopify-webhook-id")
API_VERSION_HEADERS = ("x-shopify-api-version", "shopify-api-version")
TRIGGERED_AT_HEADERS = ("x-shopify-triggered-at", "shopify-triggered-at")
DELIVERY_HEADERS = (*EVENT_ID_HEADERS, *WEBHOOK_ID_HEADERS)
KEPT_HEADERS = (
    TOPIC_HEADERS,
    SHOP_DOMAIN_HEADERS,
    API_VERSION_HEADERS,
    EVENT_ID_HEADERS,
    WEBHOOK_ID_HEADERS,
    TRIGGERED_AT_HEADERS,
)
# Back-compat names (the first, `X-Shopify-*` spelling).
SIGNATURE_HEADER, TOPIC_HEADER = SIGNATURE_HEADERS[0], TOPIC_HEADERS[0]

TOPICS = ("orders/create", "orders/updated", "orders/paid", "orders/cancelled")

# `financial_status` (REST/webhook order; GraphQL `displayFinancialStatus` lower-cased):
# money secured -> ship; not (yet) paid -> take in and hold; no money will come -> nothing.
#   pending         unpaid (manual/COD/bank deposit, or payment still processing): hold
#   authorized      the card is authorized, captured when we ship (our capture step): ship
#   partially_paid  a deposit only; the rest is still owed: hold until `paid`
#   paid            ship
#   partially_refunded  was paid; some of it refunded (a line refunded at the shop): ship
#   refunded        everything refunded without a cancel: nothing left to ship -> Ignore
#   voided          the authorization was voided: no money will come -> Ignore
#   expired         the authorization expired uncaptured: no money will come -> Ignore
# An unknown or missing status is held rather than shipped (never ship unpaid goods).
SECURED = frozenset({"authorized", "paid", "partially_refunded"})
AWAITING = frozenset({"pending", "partially_paid"})
NOTHING_TO_SHIP = frozenset({"refunded", "voided", "expired"})


def header(headers: Mapping[str, str], names: Sequence[str]) -> str | None:
    """The first of `names` present (and not blank) in `headers`, else None."""
    for name in names:
        value = headers.get(name)
        if value:
            return value
    return None


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The delivery headers worth storing, under their canonical `x-shopify-*` names."""
    kept = {}
    for names in KEPT_HEADERS:
        value = header(headers, names)
        if value is not None:
            kept[names[0]] = value
    return kept


def interpret(topic: str, body: bytes) -> ChannelAction:
    """What a webhook delivery asks of us."""
    if topic not in TOPICS:
        return Ignore(f"topic {topic or '(none)'} is not handled")
    doc = parse_json(body)
    external_id = str(need(doc, "id"))
    if topic == "orders/cancelled" or doc.get("cancelled_at"):
        reason = str(doc.get("cancel_reason") or "other")
        return CancelOrder(external_id, f"cancelled on Shopify ({reason})")
    if doc.get("fulfillment_status") == "fulfilled":
        return Ignore(f"order {external_id} is already fulfilled at Shopify")
    status = str(doc.get("financial_status") or "").lower()
    if topic == "orders/paid":
        # The topic itself is Shopify saying the order is now paid.
        awaiting = False
    elif status in NOTHING_TO_SHIP:
        return Ignore(f"order {external_id} is {status}: no payment to ship against")
    else:
        awaiting = status not in SECURED
    order = to_canonical(doc)
    return CreateOrder(order, listings=listings(doc), awaiting_payment=awaiting)


def listings(doc: Mapping[str, Any]) -> dict[str, str]:
    """Line id -> variant id (numeric, as text) for every line that names a variant."""
    found = {}
    for index, item in enumerate(doc.get("line_items") or []):
        variant = item.get("variant_id") if isinstance(item, Mapping) else None
        if variant not in (None, ""):
            found[str(item.get("id") or index + 1)] = str(variant)
    return found


def to_canonical(doc: dict[str, Any]) -> CanonicalOrder:
    """Map a Shopify order (REST Admin `Order` resource) to the canonical order."""
    ship = get(doc, "shipping_address")
    if not isinstance(ship, dict):
        raise MappingError("shipping_address", "is missing (digital or pickup orders are not ours)")
    ship_to = address(
        "shipping_address",
        name=ship.get("name") or f"{ship.get('first_name', '')} {ship.get('last_name', '')}",
        line1=ship.get("address1"),
        line2=ship.get("address2"),
        city=ship.get("city"),
        region=ship.get("province_code"),
        postal_code=ship.get("zip"),
        country=country(ship.get("country_code"), "shipping_address.country_code"),
    )
    cust = doc.get("customer") or {}
    email = doc.get("email") or doc.get("contact_email") or cust.get("email")
    full_name = f"{cust.get('first_name') or ''} {cust.get('last_name') or ''}".strip()
    customer = build(
        "customer",
        lambda: Customer(
            email=email or "",
            name=full_name or ship_to.name,
            phone=cust.get("phone") or doc.get("phone") or ship.get("phone") or None,
        ),
    )
    lines = [_line(i, item) for i, item in enumerate(need(doc, "line_items"))]
    shipping = sum(
        (
            money(s.get("price", "0"), f"shipping_lines[{i}].price")
            for i, s in enumerate(doc.get("shipping_lines") or [])
        ),
        Decimal(0),
    )
    first_shipping = get(doc, "shipping_lines.0", {})
    return canonical(
        channel=CHANNEL,
        external_id=str(need(doc, "id")),
        # `name` is what the shop and its emails show ("#1001": prefix and suffix included).
        order_number=text(doc.get("name")) or text(doc.get("order_number")),
        customer=customer,
        ship_to=ship_to,
        lines=lines,
        currency=str(need(doc, "currency")).upper(),
        shipping_service=service_from(
            f"{first_shipping.get('code')} {first_shipping.get('title')}"
        ),
        shipping_price=shipping,
        tax_total=money(doc.get("total_tax") or "0", "total_tax"),
        payment=PaymentMethod(token=f"{PAID_AT_CHANNEL}:{CHANNEL}:{need(doc, 'id')}"),
        placed_at=doc.get("created_at"),
    )


def _line(index: int, item: dict[str, Any]) -> OrderLine:
    where = f"line_items[{index}]"
    sku = str(item.get("sku") or "").strip()
    if not sku:
        if item.get("variant_id") in (None, ""):
            # A custom line (no product behind it): no listing can name what to ship.
            raise MappingError(f"{where}.sku", f"line {item.get('title')!r} has no SKU or variant")
        sku = UNMAPPED_SKU  # the ingest resolves it from `CreateOrder.listings`
    qty = quantity(item.get("quantity"), f"{where}.quantity")
    price = money(need(item, "price", f"{where}.price"), f"{where}.price")
    # Discounts are allocated per line; spread them over the units so totals match Shopify.
    discount = sum(
        (
            money(d.get("amount", "0"), f"{where}.discount_allocations")
            for d in item.get("discount_allocations") or []
        ),
        Decimal(0),
    )
    unit = max(Decimal(0), price - discount / qty)
    return build(
        where,
        lambda: OrderLine(
            line_id=str(item.get("id") or index + 1), sku=sku, quantity=qty, unit_price=q(unit)
        ),
    )

"""Shopify: `orders/create` and `orders/cancelled` webhooks in, Admin REST calls out."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.models import CanonicalOrder, Customer, OrderLine, PaymentMethod
from domain.money import q
from integrations.channels.base import (
    PAID_AT_CHANNEL,
    CancelOrder,
    ChannelAction,
    ChannelRequest,
    CreateOrder,
    Ignore,
    InventoryLevel,
    MappingError,
    ShipmentNotice,
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
API_VERSION = "2024-10"
TOPIC_HEADER = "x-shopify-topic"
SIGNATURE_HEADER = "x-shopify-hmac-sha256"
# Event id is stable across retries of one event; webhook id is the older equivalent.
DELIVERY_HEADERS = ("x-shopify-event-id", "x-shopify-webhook-id")
KEPT_HEADERS = (TOPIC_HEADER, "x-shopify-shop-domain", "x-shopify-api-version", *DELIVERY_HEADERS)


def interpret(topic: str, body: bytes) -> ChannelAction:
    """What a webhook delivery asks of us."""
    if topic not in ("orders/create", "orders/cancelled"):
        return Ignore(f"topic {topic or '(none)'} is not handled")
    doc = parse_json(body)
    if topic == "orders/cancelled":
        reason = str(doc.get("cancel_reason") or "other")
        return CancelOrder(str(need(doc, "id")), f"cancelled on Shopify ({reason})")
    return CreateOrder(to_canonical(doc))


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
        raise MappingError(f"{where}.sku", f"line {item.get('title')!r} has no SKU")
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


# ---- reverse: what we send back -----------------------------------------------------------------


def inventory_request(level: InventoryLevel) -> ChannelRequest:
    """`POST inventory_levels/set.json`: absolute availability at the Shopify location."""
    return ChannelRequest(
        "POST",
        f"/admin/api/{API_VERSION}/inventory_levels/set.json",
        {
            "location_id": _int_or_str(level.location_ref),
            "inventory_item_id": _int_or_str(level.item_id),
            "available": level.available,
        },
        sku=level.sku,
    )


def fulfilment_request(notice: ShipmentNotice, fulfillment_order_id: str) -> ChannelRequest:
    """`POST fulfillments.json` for a fulfillment order, with tracking (customer notified)."""
    return ChannelRequest(
        "POST",
        f"/admin/api/{API_VERSION}/fulfillments.json",
        {
            "fulfillment": {
                "line_items_by_fulfillment_order": [
                    {"fulfillment_order_id": _int_or_str(fulfillment_order_id)}
                ],
                "tracking_info": {
                    "company": notice.carrier,
                    "number": notice.tracking_number,
                    "url": notice.tracking_url,
                },
                "notify_customer": True,
            }
        },
    )


def cancel_request(external_id: str, reason: str = "other") -> ChannelRequest:
    """`POST orders/{id}/cancel.json` (Shopify reasons: customer, inventory, fraud, other)."""
    return ChannelRequest(
        "POST",
        f"/admin/api/{API_VERSION}/orders/{external_id}/cancel.json",
        {"reason": reason, "email": True, "restock": False},
    )


def _int_or_str(value: str) -> int | str:
    return int(value) if value.isdigit() else value

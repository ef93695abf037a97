"""WooCommerce: `order.created` / `order.updated` webhooks in, REST API v3 calls out."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.models import CanonicalOrder, Customer, OrderLine, PaymentMethod
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
    money,
    need,
    parse_json,
    quantity,
    service_from,
    text,
    unit_price,
)

CHANNEL = "woocommerce"
TOPIC_HEADER = "x-wc-webhook-topic"
SIGNATURE_HEADER = "x-wc-webhook-signature"
DELIVERY_HEADER = "x-wc-webhook-delivery-id"
KEPT_HEADERS = (TOPIC_HEADER, DELIVERY_HEADER, "x-wc-webhook-id", "x-wc-webhook-source")
# Paid (or paid-later by arrangement) orders are ours to fulfil; `pending` awaits payment and
# comes back as `order.updated` once paid.
FULFILLABLE = frozenset({"processing", "on-hold", "completed"})


def is_ping(topic: str, body: bytes) -> bool:
    """WooCommerce's test delivery when a webhook is saved: `webhook_id=N`, form-encoded."""
    return not topic and body.startswith(b"webhook_id=")


def interpret(topic: str, body: bytes) -> ChannelAction:
    """What a webhook delivery asks of us."""
    if topic not in ("order.created", "order.updated"):
        return Ignore(f"topic {topic or '(none)'} is not handled")
    doc = parse_json(body)
    status = str(doc.get("status") or "")
    if status == "cancelled":
        return CancelOrder(str(need(doc, "id")), "cancelled on WooCommerce")
    if status not in FULFILLABLE:
        return Ignore(f"status {status!r} is not fulfillable yet")
    return CreateOrder(to_canonical(doc))


def to_canonical(doc: dict[str, Any]) -> CanonicalOrder:
    """Map a WooCommerce REST v3 order to the canonical order."""
    ship, bill = doc.get("shipping") or {}, doc.get("billing") or {}
    if not ship.get("address_1"):
        ship = bill  # shops without a separate shipping form ship to the billing address
    ship_to = address(
        "shipping",
        name=f"{ship.get('first_name') or ''} {ship.get('last_name') or ''}".strip()
        or ship.get("company"),
        line1=ship.get("address_1"),
        line2=ship.get("address_2"),
        city=ship.get("city"),
        region=ship.get("state"),
        postal_code=ship.get("postcode"),
        country=country(ship.get("country"), "shipping.country"),
    )
    customer = build(
        "billing",
        lambda: Customer(
            email=bill.get("email") or "",
            name=f"{bill.get('first_name') or ''} {bill.get('last_name') or ''}".strip()
            or ship_to.name,
            phone=bill.get("phone") or ship.get("phone") or None,
        ),
    )
    lines = [_line(i, item) for i, item in enumerate(need(doc, "line_items"))]
    shipping_lines = doc.get("shipping_lines") or []
    first = shipping_lines[0] if shipping_lines else {}
    return canonical(
        channel=CHANNEL,
        external_id=str(need(doc, "id")),
        # `number` differs from `id` when a sequential-numbers plugin renumbers orders.
        order_number=text(doc.get("number")),
        customer=customer,
        ship_to=ship_to,
        lines=lines,
        currency=str(need(doc, "currency")).upper(),
        shipping_service=service_from(f"{first.get('method_id')} {first.get('method_title')}"),
        shipping_price=money(doc.get("shipping_total") or "0", "shipping_total"),
        tax_total=money(doc.get("total_tax") or "0", "total_tax"),
        payment=PaymentMethod(
            token=f"{PAID_AT_CHANNEL}:{CHANNEL}:{doc.get('transaction_id') or doc.get('id')}"
        ),
        placed_at=_gmt(doc.get("date_created_gmt")),
    )


def _line(index: int, item: dict[str, Any]) -> OrderLine:
    where = f"line_items[{index}]"
    sku = str(item.get("sku") or "").strip()
    if not sku:
        raise MappingError(f"{where}.sku", f"product {item.get('name')!r} has no SKU")
    qty = quantity(item.get("quantity"), f"{where}.quantity")
    # `total` is after coupons, before tax: what the customer pays for the line.
    total = money(need(item, "total", f"{where}.total"), f"{where}.total")
    return build(
        where,
        lambda: OrderLine(
            line_id=str(item.get("id") or index + 1),
            sku=sku,
            quantity=qty,
            unit_price=unit_price(total, qty) if total > Decimal(0) else Decimal("0.00"),
        ),
    )


def _gmt(value: Any) -> str | None:
    """Woo's `date_created_gmt` has no offset; it is UTC by definition."""
    return f"{value}+00:00" if isinstance(value, str) and value else None


# ---- reverse: what we send back -----------------------------------------------------------------


def inventory_request(level: InventoryLevel) -> ChannelRequest:
    """`PUT /wp-json/wc/v3/products/{id}`: managed stock with the absolute quantity."""
    return ChannelRequest(
        "PUT",
        f"/wp-json/wc/v3/products/{level.item_id}",
        {"manage_stock": True, "stock_quantity": level.available},
        sku=level.sku,
    )


def fulfilment_request(notice: ShipmentNotice) -> ChannelRequest:
    """A customer-visible order note with the tracking link (Woo core has no tracking field)."""
    return ChannelRequest(
        "POST",
        f"/wp-json/wc/v3/orders/{notice.external_id}/notes",
        {
            "note": f"Shipped with {notice.carrier}, tracking {notice.tracking_number}: "
            f"{notice.tracking_url}",
            "customer_note": True,
        },
    )


def complete_request(external_id: str) -> ChannelRequest:
    """`PUT orders/{id}` status completed, once every shipment has left."""
    return ChannelRequest("PUT", f"/wp-json/wc/v3/orders/{external_id}", {"status": "completed"})


def cancel_request(external_id: str) -> ChannelRequest:
    """`PUT orders/{id}` status cancelled."""
    return ChannelRequest("PUT", f"/wp-json/wc/v3/orders/{external_id}", {"status": "cancelled"})

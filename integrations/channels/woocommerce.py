"""WooCommerce: `order.*` webhooks in, REST API v3 calls out (`woocommerce_rest` is the client).

A WooCommerce line names its item by `product_id` and `variation_id`; its `sku` is optional
(empty when the product or variation has none, as in both example orders of the REST API
docs). Such a line gets `UNMAPPED_SKU`, and `CreateOrder.listings` carries every line's
listing id (the variation, else the product) for ingest to resolve through the listing map.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.models import CanonicalOrder, Customer, OrderLine, PaymentMethod
from integrations.channels.base import (
    PAID_AT_CHANNEL,
    UNMAPPED_SKU,
    CancelOrder,
    ChannelAction,
    CreateOrder,
    Ignore,
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
WEBHOOK_ID_HEADER = "x-wc-webhook-id"
# The site's home URL with a trailing slash (`home_url('/')`): which shop sent the delivery,
# so one endpoint can serve several connected sites.
SOURCE_HEADER = "x-wc-webhook-source"
KEPT_HEADERS = (TOPIC_HEADER, DELIVERY_HEADER, WEBHOOK_ID_HEADER, SOURCE_HEADER)

# `order.deleted` fires when an order is trashed and carries only `{"id": N}`;
# `order.restored` fires when it leaves the trash and carries the whole order again.
ORDER_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")

# Unpaid: taken in and held until it is paid (it comes back as `order.updated` `processing`).
# `on-hold` is WooCommerce's "awaiting payment" for offline methods (bank transfer, cheque).
AWAITING_PAYMENT = frozenset({"pending", "on-hold"})
PAID = frozenset({"processing"})
# The shop will not be paid, or gave the money back: stop whatever has not shipped. A cancel
# the order can no longer take (it shipped) is refused and dead-lettered for ops to see.
CANCELLING = {
    "cancelled": "cancelled on WooCommerce",
    "refunded": "refunded on WooCommerce",
    "trash": "moved to the trash on WooCommerce",
}
IGNORED = {
    # Fulfilled: by us (our last parcel completes it, and the update comes back) or by the
    # shop itself. Either way not new work.
    "completed": "order is completed (fulfilled)",
    # The payment was declined; the customer may pay again, which arrives as `processing`.
    # No stock is held for an order nobody has paid for.
    "failed": "payment failed; waiting for the customer to pay again",
    # A block checkout in progress: nothing was bought yet (a pull may list such orders).
    "checkout-draft": "checkout is still a draft",
}


def is_ping(topic: str, body: bytes) -> bool:
    """WooCommerce's test delivery when a webhook is saved: `webhook_id=N`, form-encoded."""
    return not topic and body.startswith(b"webhook_id=")


def interpret(topic: str, body: bytes) -> ChannelAction:
    """What a webhook delivery asks of us."""
    if topic not in ORDER_TOPICS:
        return Ignore(f"topic {topic or '(none)'} is not handled")
    doc = parse_json(body)
    if topic == "order.deleted":
        return CancelOrder(str(need(doc, "id")), "deleted on WooCommerce")
    return action_for(doc)


def action_for(doc: dict[str, Any]) -> ChannelAction:
    """What an order in this state asks of us (a delivery and a pulled order alike)."""
    status = str(doc.get("status") or "")
    if status in CANCELLING:
        return CancelOrder(str(need(doc, "id")), CANCELLING[status])
    if status in IGNORED:
        return Ignore(IGNORED[status])
    if status in PAID or status in AWAITING_PAYMENT:
        return CreateOrder(
            to_canonical(doc),
            listings=listing_map(doc),
            awaiting_payment=status in AWAITING_PAYMENT,
        )
    return Ignore(f"status {status or '(none)'!r} is not handled")


def listing_map(doc: dict[str, Any]) -> dict[str, str]:
    """Line id -> the shop's listing id: the variation when there is one, else the product."""
    return {_line_id(i, item): _listing_id(item) for i, item in enumerate(need(doc, "line_items"))}


def _listing_id(item: dict[str, Any]) -> str:
    variation = item.get("variation_id") or 0
    return str(variation if str(variation) not in ("", "0") else item.get("product_id") or "")


def _line_id(index: int, item: dict[str, Any]) -> str:
    return str(item.get("id") or index + 1)


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
    # WooCommerce's SKU is optional: the listing map names a line without one.
    sku = str(item.get("sku") or "").strip() or UNMAPPED_SKU
    qty = quantity(item.get("quantity"), f"{where}.quantity")
    # `total` is after coupons, before tax: what the customer pays for the line.
    total = money(need(item, "total", f"{where}.total"), f"{where}.total")
    return build(
        where,
        lambda: OrderLine(
            line_id=_line_id(index, item),
            sku=sku,
            quantity=qty,
            unit_price=unit_price(total, qty) if total > Decimal(0) else Decimal("0.00"),
        ),
    )


def _gmt(value: Any) -> str | None:
    """Woo's `date_created_gmt` has no offset; it is UTC by definition."""
    return f"{value}+00:00" if isinstance(value, str) and value else None

"""eBay Sell Fulfillment API: `getOrders` pulled, shipping fulfillments and inventory out."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from domain.models import CanonicalOrder, Customer, OrderLine, PaymentMethod
from integrations.channels.base import (
    PAID_AT_CHANNEL,
    CancelOrder,
    ChannelAction,
    ChannelRequest,
    CreateOrder,
    Ignore,
    InventoryLevel,
    ShipmentNotice,
    address,
    build,
    canonical,
    country,
    get,
    money,
    need,
    quantity,
    service_from,
    text,
    unit_price,
)
from integrations.channels.pull import HttpPuller, PulledOrder, PullPage

CHANNEL = "ebay"
PAGE_SIZE = 200


def interpret(doc: dict[str, Any]) -> ChannelAction:
    """What a pulled eBay order asks of us."""
    if get(doc, "cancelStatus.cancelState") == "CANCELED":
        return CancelOrder(str(need(doc, "orderId")), "cancelled on eBay")
    if doc.get("orderPaymentStatus") not in ("PAID", "PARTIALLY_REFUNDED"):
        return Ignore(f"payment status {doc.get('orderPaymentStatus')!r}")
    if doc.get("orderFulfillmentStatus") == "FULFILLED":
        return Ignore("already fulfilled")
    return CreateOrder(to_canonical(doc))


def to_canonical(doc: dict[str, Any]) -> CanonicalOrder:
    """Map an eBay `Order` to the canonical order."""
    step = need(doc, "fulfillmentStartInstructions.0.shippingStep")
    ship = need(step, "shipTo", "fulfillmentStartInstructions[0].shippingStep.shipTo")
    contact = ship.get("contactAddress") or {}
    where = "fulfillmentStartInstructions[0].shippingStep.shipTo"
    ship_to = address(
        where,
        name=ship.get("fullName"),
        line1=contact.get("addressLine1"),
        line2=contact.get("addressLine2"),
        city=contact.get("city"),
        region=contact.get("stateOrProvince"),
        postal_code=contact.get("postalCode"),
        country=country(contact.get("countryCode"), f"{where}.contactAddress.countryCode"),
    )
    buyer = get(doc, "buyer.buyerRegistrationAddress", {})
    customer = build(
        "buyer",
        lambda: Customer(
            email=buyer.get("email") or ship.get("email") or "",
            name=buyer.get("fullName") or ship_to.name,
            phone=get(ship, "primaryPhone.phoneNumber"),
        ),
    )
    items = need(doc, "lineItems")
    lines = [_line(i, item) for i, item in enumerate(items)]
    tax = get(doc, "pricingSummary.tax.value")
    if tax is None:
        tax = sum(
            (
                money(get(t, "amount.value", "0"), f"lineItems[{i}].taxes")
                for i, item in enumerate(items)
                for t in item.get("taxes") or []
            ),
            Decimal(0),
        )
    return canonical(
        channel=CHANNEL,
        external_id=str(need(doc, "orderId")),
        # Buyers see the orderId itself ("Order number" on eBay).
        order_number=text(doc.get("orderId")),
        customer=customer,
        ship_to=ship_to,
        lines=lines,
        currency=str(need(doc, "pricingSummary.total.currency")),
        shipping_service=service_from(step.get("shippingServiceCode")),
        shipping_price=money(get(doc, "pricingSummary.deliveryCost.value", "0"), "deliveryCost"),
        tax_total=money(tax, "pricingSummary.tax"),
        payment=PaymentMethod(token=f"{PAID_AT_CHANNEL}:{CHANNEL}:{doc['orderId']}"),
        placed_at=doc.get("creationDate"),
    )


def _line(index: int, item: dict[str, Any]) -> OrderLine:
    where = f"lineItems[{index}]"
    sku = str(need(item, "sku", f"{where}.sku"))
    qty = quantity(item.get("quantity"), f"{where}.quantity")
    # lineItemCost is unit price x quantity; a seller discount shows as discountedLineItemCost.
    cost = get(item, "discountedLineItemCost.value") or need(item, "lineItemCost.value", where)
    total = money(cost, f"{where}.lineItemCost")
    return build(
        where,
        lambda: OrderLine(
            line_id=str(need(item, "lineItemId", f"{where}.lineItemId")),
            sku=sku,
            quantity=qty,
            unit_price=unit_price(total, qty),
        ),
    )


class EbayPuller(HttpPuller):
    """`GET /sell/fulfillment/v1/order?filter=lastmodifieddate:[since..]`, offset paging."""

    channel = CHANNEL

    def __init__(
        self,
        access_token: str,
        base_url: str = "https://api.ebay.com",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, {"Authorization": f"Bearer {access_token}"}, transport)

    async def fetch(self, since: str) -> PullPage:
        """Orders modified at or after `since` (ISO 8601, UTC `Z`)."""
        pulled: list[PulledOrder] = []
        cursor, offset = since, 0
        for _ in range(self._max_pages):
            page = await self._get(
                "/sell/fulfillment/v1/order",
                {"filter": f"lastmodifieddate:[{since}..]", "limit": PAGE_SIZE, "offset": offset},
            )
            for order in page.get("orders", []):
                version = order.get("lastModifiedDate") or since
                pulled.append(PulledOrder(str(order["orderId"]), version, order))
                cursor = max(cursor, version)
            offset += PAGE_SIZE
            if not page.get("next") or offset >= int(page.get("total", 0)):
                break
        return PullPage(pulled, cursor)


# ---- reverse: what we send back -----------------------------------------------------------------


def fulfilment_request(notice: ShipmentNotice) -> ChannelRequest:
    """`POST order/{orderId}/shipping_fulfillment` with tracking."""
    return ChannelRequest(
        "POST",
        f"/sell/fulfillment/v1/order/{notice.external_id}/shipping_fulfillment",
        {
            "lineItems": [{"lineItemId": i, "quantity": n} for i, n in notice.lines],
            "shippedDate": notice.shipped_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "shippingCarrierCode": notice.carrier,
            "trackingNumber": notice.tracking_number,
        },
    )


def inventory_request(level: InventoryLevel) -> ChannelRequest:
    """Inventory API `bulk_update_price_quantity` for one SKU."""
    return ChannelRequest(
        "POST",
        "/sell/inventory/v1/bulk_update_price_quantity",
        {
            "requests": [
                {"sku": level.sku, "shipToLocationAvailability": {"quantity": level.available}}
            ]
        },
        sku=level.sku,
    )


def cancel_request(legacy_order_id: str) -> ChannelRequest:
    """Post-Order API cancellation by the seller (out of stock or cannot fulfil)."""
    return ChannelRequest(
        "POST",
        "/post-order/v2/cancellation",
        {"legacyOrderId": legacy_order_id, "cancelReason": "OUT_OF_STOCK_OR_CANNOT_FULFILL"},
    )

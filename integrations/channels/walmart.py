"""Walmart Marketplace Orders v3: `GET /v3/orders` pulled; ship, cancel and inventory out."""

from __future__ import annotations

from datetime import UTC, datetime
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

CHANNEL = "walmart"
PAGE_SIZE = 100


def _lines(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list(need(doc, "orderLines.orderLine", "orderLines"))


def _statuses(line: dict[str, Any]) -> set[str]:
    return {s.get("status", "") for s in get(line, "orderLineStatuses.orderLineStatus", [])}


def interpret(doc: dict[str, Any]) -> ChannelAction:
    """What a pulled purchase order asks of us."""
    statuses = set().union(*(_statuses(line) for line in _lines(doc)))
    if statuses == {"Cancelled"}:
        return CancelOrder(str(need(doc, "purchaseOrderId")), "cancelled on Walmart")
    if not statuses & {"Created", "Acknowledged"}:
        return Ignore(f"line statuses {sorted(statuses)} need nothing from us")
    return CreateOrder(to_canonical(doc))


def to_canonical(doc: dict[str, Any]) -> CanonicalOrder:
    """Map a Walmart purchase order to the canonical order (open lines only)."""
    info = need(doc, "shippingInfo")
    postal = need(info, "postalAddress", "shippingInfo.postalAddress")
    ship_to = address(
        "shippingInfo.postalAddress",
        name=postal.get("name"),
        line1=postal.get("address1"),
        line2=postal.get("address2"),
        city=postal.get("city"),
        region=postal.get("state"),
        postal_code=postal.get("postalCode"),
        country=country(postal.get("country"), "shippingInfo.postalAddress.country"),
    )
    customer = build(
        "customerEmailId",
        lambda: Customer(
            email=doc.get("customerEmailId") or "", name=ship_to.name, phone=info.get("phone")
        ),
    )
    lines: list[OrderLine] = []
    shipping = tax = Decimal(0)
    for index, line in enumerate(_lines(doc)):
        if _statuses(line) == {"Cancelled"}:
            continue
        mapped, line_shipping, line_tax = _line(index, line)
        lines.append(mapped)
        shipping, tax = shipping + line_shipping, tax + line_tax
    first_currency = get(_lines(doc)[0], "charges.charge.0.chargeAmount.currency", "USD")
    return canonical(
        channel=CHANNEL,
        external_id=str(need(doc, "purchaseOrderId")),
        # The buyer sees the customer order id; the purchase order id is the seller's.
        order_number=text(doc.get("customerOrderId")),
        customer=customer,
        ship_to=ship_to,
        lines=lines,
        currency=str(first_currency),
        shipping_service=service_from(info.get("methodCode")),
        shipping_price=shipping,
        tax_total=tax,
        payment=PaymentMethod(token=f"{PAID_AT_CHANNEL}:{CHANNEL}:{doc['purchaseOrderId']}"),
        placed_at=_ms(doc.get("orderDate")),
    )


def _line(index: int, line: dict[str, Any]) -> tuple[OrderLine, Decimal, Decimal]:
    """The line, its shipping charge and its tax."""
    where = f"orderLines.orderLine[{index}]"
    qty = quantity(get(line, "orderLineQuantity.amount"), f"{where}.orderLineQuantity")
    product = shipping = tax = Decimal(0)
    for charge in get(line, "charges.charge", []):
        value = money(get(charge, "chargeAmount.amount", "0"), f"{where}.charges")
        tax += money(get(charge, "tax.taxAmount.amount", "0"), f"{where}.charges.tax")
        if charge.get("chargeType") == "SHIPPING":
            shipping += value
        else:
            product += value
    sku = str(need(line, "item.sku", f"{where}.item.sku"))
    line_id = str(need(line, "lineNumber", f"{where}.lineNumber"))
    mapped = build(
        where,
        # The PRODUCT charge covers the line's quantity.
        lambda: OrderLine(
            line_id=line_id, sku=sku, quantity=qty, unit_price=unit_price(product, qty)
        ),
    )
    return mapped, shipping, tax


def _ms(value: Any) -> str | None:
    return datetime.fromtimestamp(int(value) / 1000, UTC).isoformat() if value else None


def _version(doc: dict[str, Any]) -> str:
    """Latest change of the order: its date or any line's status date (epoch ms)."""
    stamps = [int(doc.get("orderDate") or 0)]
    stamps += [int(line.get("statusDate") or 0) for line in get(doc, "orderLines.orderLine", [])]
    return _ms(max(stamps)) or ""


class WalmartPuller(HttpPuller):
    """`GET /v3/orders?lastModifiedStartDate=`, following `meta.nextCursor`."""

    channel = CHANNEL

    def __init__(
        self,
        access_token: str,
        base_url: str = "https://marketplace.walmartapis.com",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {
            "WM_SEC.ACCESS_TOKEN": access_token,
            "WM_SVC.NAME": "Walmart Marketplace",
            "WM_QOS.CORRELATION_ID": "oms-pull",
            "Accept": "application/json",
        }
        super().__init__(base_url, headers, transport)

    async def fetch(self, since: str) -> PullPage:
        """Purchase orders modified at or after `since` (ISO 8601)."""
        pulled: list[PulledOrder] = []
        cursor = since
        path = "/v3/orders"
        params: dict[str, Any] | None = {
            "lastModifiedStartDate": since,
            "limit": PAGE_SIZE,
            "shipNodeType": "SellerFulfilled",
        }
        for _ in range(self._max_pages):
            body = (await self._get(path, params))["list"]
            for order in get(body, "elements.order", []):
                version = _version(order) or since
                pulled.append(PulledOrder(str(order["purchaseOrderId"]), version, order))
                cursor = max(cursor, version)
            next_cursor = get(body, "meta.nextCursor")
            if not next_cursor:
                break
            # nextCursor is a ready-made query string ("?limit=...&soIndex=...").
            path, params = f"/v3/orders{next_cursor}", None
        return PullPage(pulled, cursor)


# ---- reverse: what we send back -----------------------------------------------------------------


def _line_status(line_number: str, qty: int, status: dict[str, Any]) -> dict[str, Any]:
    return {
        "lineNumber": line_number,
        "orderLineStatuses": {
            "orderLineStatus": [
                {**status, "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(qty)}}
            ]
        },
    }


def fulfilment_request(notice: ShipmentNotice, method_code: str = "Standard") -> ChannelRequest:
    """`POST /v3/orders/{purchaseOrderId}/shipping` marking lines shipped with tracking."""
    tracking = {
        "shipDateTime": int(notice.shipped_at.timestamp() * 1000),
        "carrierName": {"carrier": notice.carrier},
        "methodCode": method_code,
        "trackingNumber": notice.tracking_number,
        "trackingURL": notice.tracking_url,
    }
    lines = [
        _line_status(n, q, {"status": "Shipped", "trackingInfo": tracking}) for n, q in notice.lines
    ]
    return ChannelRequest(
        "POST",
        f"/v3/orders/{notice.external_id}/shipping",
        {"orderShipment": {"orderLines": {"orderLine": lines}}},
    )


def cancel_request(external_id: str, lines: list[tuple[str, int]]) -> ChannelRequest:
    """`POST /v3/orders/{purchaseOrderId}/cancel` for the given lines."""
    status = {"status": "Cancelled", "cancellationReason": "SELLER_CANCEL_OUT_OF_STOCK"}
    return ChannelRequest(
        "POST",
        f"/v3/orders/{external_id}/cancel",
        {
            "orderCancellation": {
                "orderLines": {"orderLine": [_line_status(n, q, status) for n, q in lines]}
            }
        },
    )


def inventory_request(level: InventoryLevel) -> ChannelRequest:
    """`PUT /v3/inventory?sku=` with the absolute quantity."""
    return ChannelRequest(
        "PUT",
        f"/v3/inventory?sku={level.sku}",
        {"sku": level.sku, "quantity": {"unit": "EACH", "amount": level.available}},
        sku=level.sku,
    )

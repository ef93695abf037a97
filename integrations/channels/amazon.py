"""Amazon SP-API Orders v0: `getOrders` + `getOrderItems` pulled, shipment confirmation out."""

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
    MappingError,
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

CHANNEL = "amazon"
# Merchant-fulfilled orders with a released address; `Pending` has neither prices nor address.
FULFILLABLE = frozenset({"Unshipped", "PartiallyShipped"})


def interpret(doc: dict[str, Any]) -> ChannelAction:
    """What a pulled `{"order": ..., "items": [...]}` document asks of us."""
    order = need(doc, "order")
    status = order.get("OrderStatus")
    if status == "Canceled":
        return CancelOrder(str(need(order, "AmazonOrderId")), "cancelled on Amazon")
    if order.get("FulfillmentChannel") == "AFN":
        return Ignore("fulfilled by Amazon (AFN)")
    if status not in FULFILLABLE:
        return Ignore(f"status {status!r} is not ours to fulfil")
    return CreateOrder(to_canonical(doc))


def _sum(items: list[dict[str, Any]], key: str) -> Decimal:
    return sum(
        (
            money(get(it, f"{key}.Amount", "0"), f"OrderItems[{i}].{key}")
            for i, it in enumerate(items)
        ),
        Decimal(0),
    )


def to_canonical(doc: dict[str, Any]) -> CanonicalOrder:
    """Map an SP-API order and its items to the canonical order."""
    order, items = need(doc, "order"), need(doc, "items", "OrderItems")
    ship = need(order, "ShippingAddress")
    ship_to = address(
        "ShippingAddress",
        name=ship.get("Name"),
        line1=ship.get("AddressLine1"),
        line2=ship.get("AddressLine2"),
        city=ship.get("City"),
        region=ship.get("StateOrRegion"),
        postal_code=ship.get("PostalCode"),
        country=country(ship.get("CountryCode"), "ShippingAddress.CountryCode"),
    )
    customer = build(
        "BuyerInfo",
        lambda: Customer(
            email=get(order, "BuyerInfo.BuyerEmail", ""),
            name=get(order, "BuyerInfo.BuyerName") or ship_to.name,
            phone=ship.get("Phone"),
        ),
    )
    lines = [_line(i, item) for i, item in enumerate(items)]
    shipping = _sum(items, "ShippingPrice") - _sum(items, "ShippingDiscount")
    return canonical(
        channel=CHANNEL,
        external_id=str(need(order, "AmazonOrderId")),
        # Buyers see the AmazonOrderId itself.
        order_number=text(order.get("AmazonOrderId")),
        customer=customer,
        ship_to=ship_to,
        lines=lines,
        currency=str(need(order, "OrderTotal.CurrencyCode")),
        shipping_service=service_from(order.get("ShipmentServiceLevelCategory")),
        shipping_price=max(Decimal(0), shipping),
        tax_total=_sum(items, "ItemTax") + _sum(items, "ShippingTax"),
        payment=PaymentMethod(token=f"{PAID_AT_CHANNEL}:{CHANNEL}:{order['AmazonOrderId']}"),
        placed_at=order.get("PurchaseDate"),
    )


def _line(index: int, item: dict[str, Any]) -> OrderLine:
    where = f"OrderItems[{index}]"
    sku = str(need(item, "SellerSKU", f"{where}.SellerSKU"))
    qty = quantity(item.get("QuantityOrdered"), f"{where}.QuantityOrdered")
    # ItemPrice is for the whole quantity; promotions come off before the unit price.
    total = money(get(item, "ItemPrice.Amount", "0"), f"{where}.ItemPrice")
    total -= money(get(item, "PromotionDiscount.Amount", "0"), f"{where}.PromotionDiscount")
    if total < 0:
        raise MappingError(f"{where}.PromotionDiscount", "discount exceeds the item price")
    return build(
        where,
        lambda: OrderLine(
            line_id=str(need(item, "OrderItemId", f"{where}.OrderItemId")),
            sku=sku,
            quantity=qty,
            unit_price=unit_price(total, qty),
        ),
    )


class AmazonPuller(HttpPuller):
    """`GET /orders/v0/orders` by `LastUpdatedAfter`, then each order's items."""

    channel = CHANNEL

    def __init__(
        self,
        marketplace_id: str,
        access_token: str,
        base_url: str = "https://sellingpartnerapi-na.amazon.com",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, {"x-amz-access-token": access_token}, transport)
        self.marketplace_id = marketplace_id

    async def fetch(self, since: str) -> PullPage:
        """Orders updated at or after `since` (ISO 8601), with their items."""
        params: dict[str, Any] = {"MarketplaceIds": self.marketplace_id, "LastUpdatedAfter": since}
        pulled: list[PulledOrder] = []
        cursor = since
        for _ in range(self._max_pages):
            payload = (await self._get("/orders/v0/orders", params))["payload"]
            for order in payload.get("Orders", []):
                items = await self._items(order["AmazonOrderId"])
                version = order.get("LastUpdateDate") or order.get("PurchaseDate") or since
                pulled.append(
                    PulledOrder(order["AmazonOrderId"], version, {"order": order, "items": items})
                )
                cursor = max(cursor, version)
            token = payload.get("NextToken")
            if not token:
                # The server's LastUpdatedBefore is the exact high-water mark of this read.
                cursor = payload.get("LastUpdatedBefore") or cursor
                break
            params = {"MarketplaceIds": self.marketplace_id, "NextToken": token}
        return PullPage(pulled, cursor)

    async def _items(self, order_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {}
        for _ in range(self._max_pages):
            payload = (await self._get(f"/orders/v0/orders/{order_id}/orderItems", params))[
                "payload"
            ]
            items.extend(payload.get("OrderItems", []))
            if not payload.get("NextToken"):
                break
            params = {"NextToken": payload["NextToken"]}
        return items


# ---- reverse: what we send back -----------------------------------------------------------------


def fulfilment_request(notice: ShipmentNotice, marketplace_id: str) -> ChannelRequest:
    """`POST /orders/v0/orders/{id}/shipmentConfirmation` with the package and its items."""
    return ChannelRequest(
        "POST",
        f"/orders/v0/orders/{notice.external_id}/shipmentConfirmation",
        {
            "marketplaceId": marketplace_id,
            "packageDetail": {
                "packageReferenceId": notice.tracking_number,
                "carrierCode": notice.carrier,
                "trackingNumber": notice.tracking_number,
                "shipDate": notice.shipped_at.isoformat(),
                "orderItems": [{"orderItemId": i, "quantity": n} for i, n in notice.lines],
            },
        },
    )


def inventory_request(level: InventoryLevel, seller_id: str, marketplace_id: str) -> ChannelRequest:
    """Listings Items `PATCH` of the merchant-fulfilled quantity."""
    return ChannelRequest(
        "PATCH",
        f"/listings/2021-08-01/items/{seller_id}/{level.sku}?marketplaceIds={marketplace_id}",
        {
            "productType": "PRODUCT",
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": level.available}],
                }
            ],
        },
        sku=level.sku,
    )

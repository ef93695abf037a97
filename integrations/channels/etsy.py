"""Etsy Open API v3: `getShopReceipts` pulled, receipt tracking and listing inventory out."""

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
    MappingError,
    ShipmentNotice,
    address,
    build,
    canonical,
    country,
    money,
    need,
    quantity,
    text,
)
from integrations.channels.pull import HttpPuller, PulledOrder, PullPage

CHANNEL = "etsy"
PAGE_SIZE = 100


def amount(value: Any, where: str) -> Decimal:
    """Etsy `Money`: `{"amount": 1999, "divisor": 100, "currency_code": "USD"}`."""
    if not isinstance(value, dict):
        raise MappingError(where, "is missing")
    divisor = value.get("divisor") or 1
    return money(Decimal(str(value.get("amount", 0))) / Decimal(str(divisor)), where)


def interpret(doc: dict[str, Any]) -> ChannelAction:
    """What a pulled receipt asks of us."""
    status = str(doc.get("status") or "").lower()
    if status == "canceled":
        return CancelOrder(str(need(doc, "receipt_id")), "cancelled on Etsy")
    if not doc.get("is_paid"):
        return Ignore("not paid yet")
    if doc.get("is_shipped"):
        return Ignore("already shipped")
    return CreateOrder(to_canonical(doc))


def to_canonical(doc: dict[str, Any]) -> CanonicalOrder:
    """Map an Etsy `ShopReceipt` to the canonical order."""
    ship_to = address(
        "receipt",
        name=doc.get("name"),
        line1=doc.get("first_line"),
        line2=doc.get("second_line"),
        city=doc.get("city"),
        region=doc.get("state"),
        postal_code=doc.get("zip"),
        country=country(doc.get("country_iso"), "country_iso"),
    )
    customer = build(
        "receipt",
        lambda: Customer(email=doc.get("buyer_email") or "", name=ship_to.name),
    )
    lines = [_line(i, t) for i, t in enumerate(need(doc, "transactions"))]
    tax = amount(doc.get("total_tax_cost") or {"amount": 0}, "total_tax_cost")
    tax += amount(doc.get("total_vat_cost") or {"amount": 0}, "total_vat_cost")
    return canonical(
        channel=CHANNEL,
        external_id=str(need(doc, "receipt_id")),
        # Buyers see the receipt id as their order number.
        order_number=text(doc.get("receipt_id")),
        customer=customer,
        ship_to=ship_to,
        lines=lines,
        currency=str(need(doc, "grandtotal.currency_code")),
        shipping_price=amount(doc.get("total_shipping_cost"), "total_shipping_cost"),
        tax_total=tax,
        payment=PaymentMethod(token=f"{PAID_AT_CHANNEL}:{CHANNEL}:{doc['receipt_id']}"),
        placed_at=_epoch(doc.get("create_timestamp")),
    )


def _line(index: int, tx: dict[str, Any]) -> OrderLine:
    where = f"transactions[{index}]"
    sku = str(tx.get("sku") or "").strip()
    if not sku:
        raise MappingError(f"{where}.sku", f"listing {tx.get('listing_id')} has no SKU")
    qty = quantity(tx.get("quantity"), f"{where}.quantity")
    return build(
        where,
        lambda: OrderLine(
            line_id=str(need(tx, "transaction_id", f"{where}.transaction_id")),
            sku=sku,
            quantity=qty,
            unit_price=amount(tx.get("price"), f"{where}.price"),  # Etsy's price is per unit
        ),
    )


def _epoch(value: Any) -> str | None:
    return datetime.fromtimestamp(int(value), UTC).isoformat() if value else None


class EtsyPuller(HttpPuller):
    """`GET /v3/application/shops/{shop_id}/receipts?min_last_modified=`, offset paging."""

    channel = CHANNEL

    def __init__(
        self,
        shop_id: str,
        api_key: str,
        access_token: str,
        base_url: str = "https://openapi.etsy.com",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"x-api-key": api_key, "Authorization": f"Bearer {access_token}"}
        super().__init__(base_url, headers, transport)
        self.shop_id = shop_id

    async def fetch(self, since: str) -> PullPage:
        """Receipts modified at or after `since` (epoch seconds as a string)."""
        pulled: list[PulledOrder] = []
        cursor, offset = int(since or 0), 0
        for _ in range(self._max_pages):
            page = await self._get(
                f"/v3/application/shops/{self.shop_id}/receipts",
                {"min_last_modified": int(since or 0), "limit": PAGE_SIZE, "offset": offset},
            )
            results = page.get("results", [])
            for receipt in results:
                version = int(receipt.get("updated_timestamp") or since or 0)
                pulled.append(PulledOrder(str(receipt["receipt_id"]), str(version), receipt))
                cursor = max(cursor, version)
            offset += len(results)
            if not results or offset >= int(page.get("count", 0)):
                break
        return PullPage(pulled, str(cursor))


# ---- reverse: what we send back -----------------------------------------------------------------


def fulfilment_request(notice: ShipmentNotice, shop_id: str) -> ChannelRequest:
    """`POST shops/{shop_id}/receipts/{receipt_id}/tracking`."""
    return ChannelRequest(
        "POST",
        f"/v3/application/shops/{shop_id}/receipts/{notice.external_id}/tracking",
        {"tracking_code": notice.tracking_number, "carrier_name": notice.carrier.lower()},
    )


def inventory_request(level: InventoryLevel) -> ChannelRequest:
    """`PUT listings/{listing_id}/inventory` with the SKU's offering quantity."""
    return ChannelRequest(
        "PUT",
        f"/v3/application/listings/{level.item_id}/inventory",
        {
            "products": [
                {
                    "sku": level.sku,
                    "offerings": [{"quantity": level.available, "is_enabled": level.available > 0}],
                }
            ]
        },
        sku=level.sku,
    )

"""How the sandbox shop shows an order: the REST/webhook `Order` JSON (what deliveries carry,
field names as Shopify's published orders) and the GraphQL Admin `Order` node."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def gid(kind: str, ref: int | str) -> str:
    """`gid://shopify/{kind}/{id}`."""
    return f"gid://shopify/{kind}/{ref}"


def money_text(amount: Decimal | str) -> str:
    """An amount as Shopify writes it (`"19.99"`)."""
    return str(Decimal(str(amount)).quantize(Decimal("0.01")))


_money = money_text


def current_quantity(line: dict[str, Any]) -> int:
    """Units of a line item left after order edits (`quantity` stays what was bought)."""
    return int(line.get("current_quantity", line["quantity"]))


def fulfillment_status(order: dict[str, Any]) -> str | None:
    """REST `fulfillment_status`: null, `partial` or `fulfilled` (of the units left)."""
    ordered = sum(current_quantity(li) for li in order["line_items"])
    shipped = sum(li["quantity"] for f in order["fulfillments"] for li in f["line_items"])
    if shipped == 0:
        return None
    return "fulfilled" if shipped >= ordered else "partial"


def rest_order(order: dict[str, Any]) -> dict[str, Any]:
    """The REST/webhook `Order` JSON (field names as Shopify's published orders)."""
    subtotal = sum(Decimal(li["price"]) * li["quantity"] for li in order["line_items"])
    current = sum(
        (Decimal(li["price"]) * current_quantity(li) for li in order["line_items"]), Decimal(0)
    )
    shipping = sum(Decimal(s["price"]) for s in order["shipping_lines"])
    return {
        "id": order["id"],
        "admin_graphql_api_id": gid("Order", order["id"]),
        "name": f"#{1000 + order['number']}",
        "order_number": 1000 + order["number"],
        "email": order["email"],
        "contact_email": order["email"],
        "phone": order["phone"],
        "created_at": order["created_at"],
        "updated_at": order["updated_at"],
        "currency": order["currency"],
        "financial_status": order["financial_status"],
        "fulfillment_status": fulfillment_status(order),
        "cancelled_at": order["cancelled_at"],
        "cancel_reason": order["cancel_reason"],
        "note": order["note"],
        "subtotal_price": _money(subtotal),
        "total_tax": order["total_tax"],
        "total_price": _money(subtotal + shipping + Decimal(order["total_tax"])),
        "current_subtotal_price": _money(current),
        "current_total_price": _money(current + shipping + Decimal(order["total_tax"])),
        "customer": order["customer"],
        "shipping_address": order["shipping_address"],
        "line_items": [
            li
            | {
                "current_quantity": current_quantity(li),
                "admin_graphql_api_id": gid("LineItem", li["id"]),
                "discount_allocations": [],
                "fulfillable_quantity": _remaining(order, li["id"]),
            }
            for li in order["line_items"]
        ],
        "shipping_lines": order["shipping_lines"],
        "fulfillments": [
            {
                "id": f["id"],
                "order_id": order["id"],
                "status": f["status"].lower(),
                "tracking_company": (f["tracking"] or [{}])[0].get("company"),
                "tracking_number": (f["tracking"] or [{}])[0].get("number"),
                "tracking_numbers": [t.get("number") for t in f["tracking"]],
                "tracking_url": (f["tracking"] or [{}])[0].get("url"),
                "line_items": f["line_items"],
            }
            for f in order["fulfillments"]
        ],
    }


def _remaining(order: dict[str, Any], line_id: int) -> int:
    return sum(
        li["remaining"]
        for fo in order["fulfillment_orders"]
        if fo["status"] != "CLOSED"
        for li in fo["line_items"]
        if li["line_item_id"] == line_id
    )


def graphql_order(order: dict[str, Any]) -> dict[str, Any]:
    """The GraphQL Admin `Order` node (every field the client selects)."""
    status = fulfillment_status(order)
    ship = order["shipping_address"] or None
    customer = order["customer"] or None

    def money(amount: Any) -> dict[str, Any]:
        return {"shopMoney": {"amount": _money(amount), "currencyCode": order["currency"]}}

    return {
        "id": gid("Order", order["id"]),
        "name": f"#{1000 + order['number']}",
        "email": order["email"],
        "phone": order["phone"],
        "createdAt": order["created_at"],
        "updatedAt": order["updated_at"],
        "cancelledAt": order["cancelled_at"],
        "cancelReason": (order["cancel_reason"] or "").upper() or None,
        "note": order["note"],
        "currencyCode": order["currency"],
        "displayFinancialStatus": order["financial_status"].upper(),
        "displayFulfillmentStatus": {
            "fulfilled": "FULFILLED",
            "partial": "PARTIALLY_FULFILLED",
        }.get(status or "", "UNFULFILLED"),
        "totalTaxSet": money(order["total_tax"]),
        "customer": {
            "firstName": customer.get("first_name"),
            "lastName": customer.get("last_name"),
            "email": customer.get("email"),
            "phone": customer.get("phone"),
        }
        if customer
        else None,
        "shippingAddress": {
            "name": ship.get("name"),
            "firstName": ship.get("first_name"),
            "lastName": ship.get("last_name"),
            "address1": ship.get("address1"),
            "address2": ship.get("address2"),
            "city": ship.get("city"),
            "provinceCode": ship.get("province_code"),
            "zip": ship.get("zip"),
            "countryCodeV2": ship.get("country_code"),
            "phone": ship.get("phone"),
        }
        if ship
        else None,
        "shippingLines": {
            "nodes": [
                {
                    "title": s["title"],
                    "code": s.get("code"),
                    "originalPriceSet": money(s["price"]),
                }
                for s in order["shipping_lines"]
            ]
        },
        "lineItems": {
            "nodes": [
                {
                    "id": gid("LineItem", li["id"]),
                    "sku": li["sku"],
                    "title": li["title"],
                    "quantity": li["quantity"],
                    "currentQuantity": current_quantity(li),
                    "unfulfilledQuantity": _remaining(order, li["id"]),
                    "variant": {"id": gid("ProductVariant", li["variant_id"])}
                    if li.get("variant_id")
                    else None,
                    "originalUnitPriceSet": money(li["price"]),
                    "discountAllocations": [],
                }
                for li in order["line_items"]
            ]
        },
        "fulfillments": [
            {
                "id": gid("Fulfillment", f["id"]),
                "status": f["status"],
                "trackingInfo": f["tracking"],
            }
            for f in order["fulfillments"]
        ],
        "fulfillmentOrders": {
            "nodes": [
                {
                    "id": gid("FulfillmentOrder", fo["id"]),
                    "status": fo["status"],
                    "lineItems": {
                        "nodes": [
                            {
                                "id": gid("FulfillmentOrderLineItem", li["id"]),
                                "remainingQuantity": li["remaining"],
                                "lineItem": {"id": gid("LineItem", li["line_item_id"])},
                            }
                            for li in fo["line_items"]
                        ]
                    },
                }
                for fo in order["fulfillment_orders"]
            ]
        },
    }


def calculated_order(
    order: dict[str, Any], session: dict[str, Any], fulfilled: dict[int, int]
) -> dict[str, Any]:
    """The `CalculatedOrder` of an edit session: the order with its staged quantities.
    `fulfilled` is each line item's fulfilled units (what cannot be edited)."""
    lines = [calculated_line(li, session, fulfilled.get(li["id"], 0)) for li in order["line_items"]]
    subtotal = sum(
        Decimal(li["price"]) * n["quantity"]
        for li, n in zip(order["line_items"], lines, strict=True)
    )
    before = sum(Decimal(li["price"]) * current_quantity(li) for li in order["line_items"])

    def money(amount: Any) -> dict[str, Any]:
        return {"shopMoney": {"amount": _money(amount), "currencyCode": order["currency"]}}

    return {
        "id": gid("CalculatedOrder", session["id"]),
        "originalOrder": {"id": gid("Order", order["id"])},
        "lineItems": {"nodes": lines},
        "addedLineItems": {"nodes": []},
        "subtotalLineItemsQuantity": sum(n["quantity"] for n in lines),
        "subtotalPriceSet": money(subtotal),
        # What the customer owes after the edit: negative when a refund is owed to them.
        "totalOutstandingSet": money(subtotal - before),
    }


def calculated_line(
    line: dict[str, Any], session: dict[str, Any], fulfilled: int
) -> dict[str, Any]:
    """A `CalculatedLineItem` (of an existing line: the line item's numeric id)."""
    staged = session["staged"].get(str(line["id"]))
    current = current_quantity(line)
    return {
        "id": gid("CalculatedLineItem", line["id"]),
        "quantity": staged["quantity"] if staged else current,
        "editableQuantity": current - fulfilled,
        "editableQuantityBeforeChanges": current - fulfilled,
        "restockable": True,
        "restocking": bool(staged and staged["restock"]),
        "sku": line["sku"],
        "title": line["title"],
        "variant": {"id": gid("ProductVariant", line["variant_id"])}
        if line.get("variant_id")
        else None,
        "hasStagedLineItemDiscount": False,
    }

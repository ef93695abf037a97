"""Each channel's documented payload maps to the canonical order, and back to its API shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from domain.models import CanonicalOrder
from integrations.channels import amazon, ebay, etsy, shopify, walmart, woocommerce
from integrations.channels.base import (
    UNMAPPED_SKU,
    CancelOrder,
    CreateOrder,
    Ignore,
    InventoryLevel,
    MappingError,
    ShipmentNotice,
    hmac_b64,
    signature_valid,
)
from integrations.channels.pull import PullPage
from tests.conftest import canonical_order
from tests.integrations.channels.conftest import payload


def lines(action: Any) -> list[tuple[str, int, Decimal]]:
    assert isinstance(action, CreateOrder), action
    return [(x.sku, x.quantity, x.unit_price) for x in action.order.lines]


def test_shopify_order_maps_with_discounts_shipping_and_tax() -> None:
    action = shopify.interpret(
        "orders/create", json.dumps(payload("shopify_orders_create.json")).encode()
    )
    assert lines(action) == [("TSHIRT-M", 2, Decimal("17.49")), ("CAP-BLK", 1, Decimal("15.00"))]
    assert isinstance(action, CreateOrder)
    order = action.order
    assert (order.channel, order.external_id) == ("shopify", "820982911946154508")
    assert (order.shipping_price, order.tax_total, order.currency) == (
        Decimal("10.00"),
        Decimal("4.40"),
        "USD",
    )
    assert order.ship_to.region == "KY" and order.ship_to.postal_code == "40003"
    assert order.customer.email == "jon@example.com" and order.customer.name == "John Smith"
    assert order.payment.token.startswith("channel-paid:shopify:")


def test_shopify_cancel_missing_sku_and_other_topics() -> None:
    doc = payload("shopify_orders_create.json")
    cancelled = shopify.interpret(
        "orders/cancelled", json.dumps(doc | {"cancel_reason": "fraud"}).encode()
    )
    assert cancelled == CancelOrder("820982911946154508", "cancelled on Shopify (fraud)")
    doc["line_items"][0]["sku"] = None
    unmapped = shopify.interpret("orders/create", json.dumps(doc).encode())
    assert isinstance(unmapped, CreateOrder) and unmapped.order.lines[0].sku == UNMAPPED_SKU
    assert unmapped.listings["866550311766439020"] == "808950810"
    doc["line_items"][0]["variant_id"] = None  # a custom line: nothing can name the item
    with pytest.raises(MappingError) as err:
        shopify.interpret("orders/create", json.dumps(doc).encode())
    assert err.value.field == "line_items[0].sku"
    assert isinstance(shopify.interpret("products/update", b"{}"), Ignore)


def test_woocommerce_order_statuses() -> None:
    doc = payload("woocommerce_order.json")
    created = woocommerce.interpret("order.created", json.dumps(doc).encode())
    assert lines(created) == [("SOCKS-3PK", 2, Decimal("3.00")), ("BEANIE", 1, Decimal("12.00"))]
    assert isinstance(created, CreateOrder)
    assert created.order.ship_to.region == "CA" and created.order.tax_total == Decimal("1.35")
    assert created.order.placed_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)
    pending = woocommerce.interpret(
        "order.created", json.dumps(doc | {"status": "pending"}).encode()
    )
    # Unpaid: taken in and held until paid.
    assert isinstance(pending, CreateOrder) and pending.awaiting_payment
    assert isinstance(
        woocommerce.interpret("order.updated", json.dumps(doc | {"status": "completed"}).encode()),
        Ignore,
    )
    cancelled = woocommerce.interpret(
        "order.updated", json.dumps(doc | {"status": "cancelled"}).encode()
    )
    assert cancelled == CancelOrder("727", "cancelled on WooCommerce")
    assert woocommerce.is_ping("", b"webhook_id=12")
    with pytest.raises(MappingError, match=r"shipping\.country"):
        bad = doc | {"shipping": doc["shipping"] | {"country": "??"}}
        woocommerce.interpret("order.created", json.dumps(bad).encode())


def recorded(routes: dict[str, Any], seen: list[httpx.Request]) -> httpx.MockTransport:
    """Answer each path with a recorded payload; remember the requests."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=routes[request.url.path])

    return httpx.MockTransport(handle)


async def test_amazon_get_orders_and_items() -> None:
    seen: list[httpx.Request] = []
    routes = {
        "/orders/v0/orders": payload("amazon_get_orders.json"),
        "/orders/v0/orders/902-3159896-1390916/orderItems": payload("amazon_get_order_items.json"),
        "/orders/v0/orders/902-8745147-1934268/orderItems": {"payload": {"OrderItems": []}},
    }
    puller = amazon.AmazonPuller("ATVPDKIKX0DER", "Atza|token", transport=recorded(routes, seen))
    page = await puller.fetch("2017-01-01T00:00:00Z")
    await puller.aclose()
    assert seen[0].url.params["LastUpdatedAfter"] == "2017-01-01T00:00:00Z"
    assert seen[0].headers["x-amz-access-token"] == "Atza|token"
    assert page.cursor == "2017-01-22T00:00:00Z"
    first, second = (amazon.interpret(o.doc) for o in page.orders)
    assert lines(first) == [("HOODIE-M", 1, Decimal("25.99")), ("MUG-12OZ", 2, Decimal("9.00"))]
    assert isinstance(first, CreateOrder)
    assert (first.order.shipping_price, first.order.tax_total) == (Decimal("2.97"), Decimal("1.81"))
    assert first.order.ship_to.city == "Canton" and first.order.customer.name == "Jane Buyer"
    assert second == CancelOrder("902-8745147-1934268", "cancelled on Amazon")


async def test_ebay_get_orders() -> None:
    seen: list[httpx.Request] = []
    routes = {"/sell/fulfillment/v1/order": payload("ebay_get_orders.json")}
    puller = ebay.EbayPuller("v^1.1#token", transport=recorded(routes, seen))
    page = await puller.fetch("2019-08-01T00:00:00.000Z")
    await puller.aclose()
    assert seen[0].url.params["filter"] == "lastmodifieddate:[2019-08-01T00:00:00.000Z..]"
    assert page.cursor == "2019-08-27T12:30:00.000Z"
    first, second = (ebay.interpret(o.doc) for o in page.orders)
    assert lines(first) == [("TOTE-CNV", 2, Decimal("18.00")), ("BEANIE", 1, Decimal("8.00"))]
    assert isinstance(first, CreateOrder)
    assert first.order.shipping_service == "express"  # USPSPriority
    assert (first.order.shipping_price, first.order.tax_total) == (Decimal("5.99"), Decimal("3.52"))
    assert isinstance(second, CancelOrder)


async def test_etsy_receipts() -> None:
    seen: list[httpx.Request] = []
    routes = {"/v3/application/shops/42/receipts": payload("etsy_get_shop_receipts.json")}
    puller = etsy.EtsyPuller("42", "keystring", "oauth", transport=recorded(routes, seen))
    page: PullPage = await puller.fetch("1699999000")
    await puller.aclose()
    assert seen[0].url.params["min_last_modified"] == "1699999000"
    assert page.cursor == "1700000500"
    first, second = (etsy.interpret(o.doc) for o in page.orders)
    assert lines(first) == [("BOTTLE-1L", 2, Decimal("32.00"))]
    assert isinstance(first, CreateOrder)
    assert (first.order.shipping_price, first.order.tax_total) == (Decimal("5.00"), Decimal("5.50"))
    assert first.order.ship_to.line2 == "Apt 2"
    assert second == CancelOrder("1234567999", "cancelled on Etsy")


async def test_walmart_orders_skip_cancelled_lines() -> None:
    seen: list[httpx.Request] = []
    routes = {"/v3/orders": payload("walmart_get_orders.json")}
    puller = walmart.WalmartPuller("token", transport=recorded(routes, seen))
    page = await puller.fetch("2019-09-01T00:00:00+00:00")
    await puller.aclose()
    assert seen[0].headers["WM_SVC.NAME"] == "Walmart Marketplace"
    (order,) = (walmart.interpret(o.doc) for o in page.orders)
    assert lines(order) == [("TSHIRT-L", 1, Decimal("19.99"))]
    assert isinstance(order, CreateOrder)
    assert order.order.ship_to.country == "US" and order.order.shipping_service == "economy"
    assert (order.order.shipping_price, order.order.tax_total) == (Decimal("4.99"), Decimal("1.60"))


async def test_each_channel_maps_the_order_number_its_customers_see() -> None:
    shop = shopify.interpret(
        "orders/create", json.dumps(payload("shopify_orders_create.json")).encode()
    )
    woo = woocommerce.interpret(
        "order.created",
        json.dumps(payload("woocommerce_order.json") | {"number": "W-727"}).encode(),
    )
    routes = {"/v3/orders": payload("walmart_get_orders.json")}
    puller = walmart.WalmartPuller("token", transport=recorded(routes, []))
    (pulled,) = (await puller.fetch("2019-09-01T00:00:00+00:00")).orders
    await puller.aclose()
    mart = walmart.interpret(pulled.doc)
    numbers: dict[str, tuple[str, str]] = {}
    for action in (shop, woo, mart):
        assert isinstance(action, CreateOrder)
        numbers[action.order.channel] = (action.order.external_id, action.order.display_number)
    assert numbers == {
        "shopify": ("820982911946154508", "#9999"),
        "woocommerce": ("727", "W-727"),
        "walmart": ("1796277083022", "5281956426648"),
    }
    # A POST /v1/orders body without one: the external id is the number.
    assert CanonicalOrder.model_validate(canonical_order("EXT-1")).display_number == "EXT-1"


def test_reverse_requests_follow_each_api() -> None:
    level = InventoryLevel("TSHIRT-M", 7, listing_id="808950810", location_ref="655441491")
    assert walmart.inventory_request(level).body["quantity"] == {"unit": "EACH", "amount": 7}
    ebay_body = ebay.inventory_request(level).body
    assert ebay_body["requests"][0]["shipToLocationAvailability"] == {"quantity": 7}
    notice = ShipmentNotice(
        "1796277083022",
        "UPS",
        "1Z999",
        "https://ups.example/1Z999",
        datetime(2025, 1, 2, tzinfo=UTC),
        [("1", 1)],
    )
    shipped = walmart.fulfilment_request(notice).body["orderShipment"]["orderLines"]["orderLine"][0]
    status = shipped["orderLineStatuses"]["orderLineStatus"][0]
    assert status["status"] == "Shipped" and status["trackingInfo"]["trackingNumber"] == "1Z999"
    assert amazon.fulfilment_request(notice, "ATVPDKIKX0DER").body["packageDetail"][
        "orderItems"
    ] == [{"orderItemId": "1", "quantity": 1}]


def test_signatures_accept_any_configured_secret_in_constant_time() -> None:
    body = b'{"id": 1}'
    assert signature_valid(["new", "old"], body, hmac_b64("old", body))
    assert not signature_valid(["new", None], body, hmac_b64("old", body))
    assert not signature_valid(["new"], body, None)
    assert not signature_valid([None], body, hmac_b64("", body))

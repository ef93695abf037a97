"""WooCommerce's own example orders (REST API docs) map, SKU-less lines through the listing map."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from integrations.channels import woocommerce
from integrations.channels.base import (
    UNMAPPED_SKU,
    CancelOrder,
    ChannelAction,
    CreateOrder,
    Ignore,
    MappingError,
)
from tests.integrations.channels.conftest import PAYLOADS

DOCS = PAYLOADS / "woocommerce"


def documented(name: str) -> Any:
    """A fixture taken verbatim from WooCommerce's REST API docs (see its README)."""
    return json.loads((DOCS / name).read_text())


def order_727() -> dict[str, Any]:
    """`GET /orders/727` from the REST API docs: `processing`, one line without a SKU."""
    return dict(documented("order_727_retrieve.json"))


def order_723() -> dict[str, Any]:
    """The second order of the docs' `GET /orders`: `completed`, no line has a SKU."""
    return dict(next(o for o in documented("orders_list.json") if o["id"] == 723))


def deliver(doc: dict[str, Any], topic: str = "order.created") -> ChannelAction:
    return woocommerce.interpret(topic, json.dumps(doc).encode())


def test_documented_order_with_a_skuless_line_is_taken_through_the_listing_map() -> None:
    action = deliver(order_727())
    assert isinstance(action, CreateOrder) and not action.awaiting_payment
    order = action.order
    assert [(x.line_id, x.sku, x.quantity, x.unit_price) for x in order.lines] == [
        ("315", UNMAPPED_SKU, 2, Decimal("3.00")),
        ("316", "Bar3", 1, Decimal("12.00")),
    ]
    # Line 315 is the simple product 93; line 316 is variation 23 of product 22.
    assert dict(action.listings) == {"315": "93", "316": "23"}
    assert (order.channel, order.external_id, order.display_number) == ("woocommerce", "727", "727")
    assert (order.shipping_price, order.tax_total, order.currency) == (
        Decimal("10.00"),
        Decimal("1.35"),
        "USD",
    )
    assert order.ship_to.city == "San Francisco" and order.ship_to.region == "CA"
    assert order.customer.email == "john.doe@example.com" and order.customer.name == "John Doe"
    assert order.placed_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)


def test_documented_completed_order_is_not_new_work_but_maps() -> None:
    doc = order_723()
    assert deliver(doc, "order.updated") == Ignore("order is completed (fulfilled)")
    # The same documented order, had it arrived while `processing` (status changed here only):
    # both of its SKU-less simple-product lines resolve through the listing map.
    action = deliver(doc | {"status": "processing"})
    assert isinstance(action, CreateOrder)
    assert [(x.line_id, x.sku, x.unit_price) for x in action.order.lines] == [
        ("311", UNMAPPED_SKU, Decimal("9.00")),
        ("313", UNMAPPED_SKU, Decimal("20.00")),
    ]
    assert dict(action.listings) == {"311": "87", "313": "34"}
    ship_to = action.order.ship_to
    assert (ship_to.country, ship_to.region, ship_to.postal_code) == ("BR", "RJ", "12345-000")
    assert action.order.customer.name == "João Silva"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("pending", "awaiting"),
        ("on-hold", "awaiting"),
        ("processing", "paid"),
        ("completed", Ignore),
        ("failed", Ignore),
        ("checkout-draft", Ignore),
        ("cancelled", CancelOrder),
        ("refunded", CancelOrder),
        ("trash", CancelOrder),
        ("some-plugin-status", Ignore),
    ],
)
def test_each_status_of_the_documented_order(status: str, expected: Any) -> None:
    action = deliver(order_727() | {"status": status}, "order.updated")
    if expected in ("awaiting", "paid"):
        assert isinstance(action, CreateOrder)
        assert action.awaiting_payment is (expected == "awaiting")
        assert dict(action.listings) == {"315": "93", "316": "23"}
    else:
        assert isinstance(action, expected), action
    if isinstance(action, CancelOrder):
        assert action.external_id == "727" and "WooCommerce" in action.reason


def test_topics_deleted_restored_and_others() -> None:
    # `order.deleted` carries only the id (WC_Webhook::build_payload for a `deleted` event).
    assert deliver({"id": 727}, "order.deleted") == CancelOrder("727", "deleted on WooCommerce")
    restored = deliver(order_727(), "order.restored")
    assert isinstance(restored, CreateOrder) and restored.order.external_id == "727"
    assert isinstance(deliver(order_727(), "product.updated"), Ignore)
    assert isinstance(deliver(order_727(), ""), Ignore)
    with pytest.raises(MappingError) as err:
        woocommerce.interpret("order.created", b"webhook_id=12")
    assert err.value.field == "body"


def test_a_line_without_product_or_variation_id_still_maps_and_is_named_by_its_sku() -> None:
    doc = order_727()
    doc["line_items"][1] |= {"product_id": 0, "variation_id": 0}
    action = deliver(doc)
    assert isinstance(action, CreateOrder)
    # Nothing to look up: the line keeps its SKU and an empty listing id.
    assert action.listings["316"] == "" and action.order.lines[1].sku == "Bar3"


def test_source_header_is_kept_for_routing() -> None:
    assert woocommerce.SOURCE_HEADER == "x-wc-webhook-source"
    assert woocommerce.SOURCE_HEADER in woocommerce.KEPT_HEADERS

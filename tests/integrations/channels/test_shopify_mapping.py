"""Shopify's published orders through the webhook mapping (see payloads/shopify/README.md)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from integrations.channels import shopify
from integrations.channels.base import (
    UNMAPPED_SKU,
    CancelOrder,
    ChannelAction,
    CreateOrder,
    Ignore,
    MappingError,
)
from tests.integrations.channels.conftest import payload


def published(name: str) -> dict[str, Any]:
    """A published Shopify order (payloads/shopify/)."""
    return payload(f"shopify/{name}")


def deliver(topic: str, doc: dict[str, Any]) -> ChannelAction:
    return shopify.interpret(topic, json.dumps(doc).encode())


def created(action: ChannelAction) -> CreateOrder:
    assert isinstance(action, CreateOrder), action
    return action


def test_authorized_order_is_fulfillable_with_its_variants_listed() -> None:
    doc = published("order_authorized.json")
    action = created(deliver("orders/create", doc))
    assert action.awaiting_payment is False
    order = action.order
    assert (order.external_id, order.order_number, order.currency) == ("450789469", "#1001", "USD")
    assert [(line.sku, line.quantity) for line in order.lines] == [
        ("IPOD2008GREEN", 1),
        ("IPOD2008RED", 1),
        ("IPOD2008BLACK", 1),
    ]
    # 199.00 less the allocated discount (3.34 / 3.33 / 3.33) per unit.
    assert [line.unit_price for line in order.lines] == [
        Decimal("195.66"),
        Decimal("195.67"),
        Decimal("195.67"),
    ]
    assert action.listings == {
        str(item["id"]): str(item["variant_id"]) for item in doc["line_items"]
    }
    assert order.ship_to.region == "KY" and order.ship_to.country == "US"


def test_paid_order_ships_and_paid_topics_clear_the_hold() -> None:
    doc = published("order_paid.json")
    assert created(deliver("orders/create", doc)).awaiting_payment is False
    assert created(deliver("orders/updated", doc)).awaiting_payment is False
    # `orders/paid` is Shopify saying it was paid: no hold, whatever the body's status.
    partial = published("order_partially_paid.json")
    assert created(deliver("orders/create", partial)).awaiting_payment is True
    assert created(deliver("orders/paid", partial)).awaiting_payment is False


def test_pending_order_is_taken_in_awaiting_payment() -> None:
    doc = published("order_pending.json")
    # As published it was created through the API with no shipping address: not ours to ship.
    with pytest.raises(MappingError) as err:
        deliver("orders/create", doc)
    assert err.value.field == "shipping_address"
    # Derived: the same pending order with the published authorized order's address.
    doc["shipping_address"] = published("order_authorized.json")["shipping_address"]
    action = created(deliver("orders/create", doc))
    assert action.awaiting_payment is True
    assert action.order.external_id == str(doc["id"])
    assert created(deliver("orders/updated", doc)).awaiting_payment is True


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("pending", True),
        ("authorized", False),
        ("partially_paid", True),
        ("paid", False),
        ("partially_refunded", False),
        ("refunded", None),
        ("voided", None),
        ("expired", None),
        ("something_new", True),
    ],
)
def test_every_financial_status_has_a_decision(status: str, outcome: bool | None) -> None:
    """Derived: the published paid order under each of Shopify's financial statuses."""
    doc = published("order_paid.json") | {"financial_status": status}
    action = deliver("orders/updated", doc)
    if outcome is None:
        assert isinstance(action, Ignore) and status in action.reason
    else:
        assert created(action).awaiting_payment is outcome


def test_cancelled_order_cancels_under_any_order_topic() -> None:
    doc = published("order_cancelled_refunded.json")
    expected = CancelOrder("450789469", f"cancelled on Shopify ({doc['cancel_reason']})")
    assert deliver("orders/cancelled", doc) == expected
    assert deliver("orders/updated", doc) == expected


def test_order_fulfilled_at_shopify_is_not_new_work() -> None:
    action = deliver("orders/create", published("order_paid_fulfilled.json"))
    assert isinstance(action, Ignore) and "fulfilled" in action.reason


def test_line_without_sku_is_resolved_through_its_variant() -> None:
    """Derived: the published authorized order with one line's SKU blanked."""
    doc = published("order_authorized.json")
    doc["line_items"][1]["sku"] = ""
    action = created(deliver("orders/create", doc))
    line = action.order.lines[1]
    assert line.sku == UNMAPPED_SKU
    assert action.listings[line.line_id] == str(doc["line_items"][1]["variant_id"]) == "49148385"
    # A custom line (no variant either) has nothing to resolve it by.
    with pytest.raises(MappingError) as err:
        deliver(
            "orders/create",
            published("order_custom_line.json")
            | {"shipping_address": doc["shipping_address"], "email": doc["email"]},
        )
    assert err.value.field == "line_items[0].sku"


def test_other_topics_are_ignored() -> None:
    body = json.dumps(published("order_paid.json")).encode()
    for topic in ("orders/fulfilled", "orders/delete", "products/update", ""):
        assert isinstance(shopify.interpret(topic, body), Ignore)


def test_headers_are_read_in_either_spelling_and_kept_under_one_name() -> None:
    old = {"x-shopify-topic": "orders/paid", "x-shopify-shop-domain": "a.myshopify.com"}
    new = {"shopify-topic": "orders/paid", "shopify-shop-domain": "a.myshopify.com"}
    for headers in (old, new):
        assert shopify.header(headers, shopify.TOPIC_HEADERS) == "orders/paid"
        assert shopify.kept_headers(headers) == old
    assert shopify.header({"shopify-event-id": ""}, shopify.EVENT_ID_HEADERS) is None

"""Webhooks between the sandbox site and us: subscriptions, signed deliveries, the pull agreeing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from domain.errors import Unauthenticated
from integrations.channels import woocommerce
from integrations.channels.base import UNMAPPED_SKU, CancelOrder, CreateOrder
from integrations.channels.shop import (
    ShopRequestError,
)
from services.webhooks import woocommerce_delivery
from tests.helpers import eventually
from tests.integrations.channels.woo_sandbox import (
    SECRET,
    Sink,
    Site,
    sink,
    site,
    site_auth,
)

__all__ = ["sink", "site"]  # fixtures, shared from woo_sandbox


async def test_webhooks_subscribe_once_and_deliveries_pass_our_signature_check(
    site: Site, sink: tuple[Sink, str]
) -> None:
    receiver, callback = sink
    assert await site.client.subscribe_webhooks(callback) == [
        "order.created",
        "order.updated",
        "order.deleted",
    ]
    await site.client.subscribe_webhooks(callback)
    hooks = site.shop.snapshot()["webhooks"]
    assert sorted(h["topic"] for h in hooks) == ["order.created", "order.deleted", "order.updated"]

    skuless = next(x for x in site.listings if not x["sku"])
    order = site.shop.place_order(
        [{"variation_id": skuless["listing_id"], "quantity": 1}, {"sku": "MUG-12OZ"}],
        status="pending",
    )
    await eventually(lambda: len(receiver.received) >= 1, timeout=10)
    created = receiver.received[0]
    assert created.headers["x-wc-webhook-topic"] == "order.created"
    assert created.headers["x-wc-webhook-source"] == site.url + "/"
    assert created.headers["x-wc-webhook-resource"] == "order"
    assert created.headers["x-wc-webhook-event"] == "created"
    delivery = woocommerce_delivery(created.headers, created.body, [SECRET])
    assert delivery is not None and delivery.topic == "order.created"
    assert delivery.delivery_id == created.headers["x-wc-webhook-delivery-id"]
    assert delivery.headers[woocommerce.SOURCE_HEADER] == site.url + "/"
    with pytest.raises(Unauthenticated):
        woocommerce_delivery(created.headers, created.body, ["another secret"])
    with pytest.raises(Unauthenticated):
        woocommerce_delivery(created.headers, created.body + b" ", [SECRET])

    action = woocommerce.interpret(delivery.topic, delivery.body)
    assert isinstance(action, CreateOrder) and action.awaiting_payment
    assert [x.sku for x in action.order.lines] == [UNMAPPED_SKU, "MUG-12OZ"]
    assert action.listings[str(order["line_items"][0]["id"])] == str(skuless["listing_id"])

    # The reconciliation pull reads the same order exactly as the webhook delivered it.
    pulled = await site.client.orders_since(datetime.now(UTC) - timedelta(minutes=5))
    (mine,) = [o for o in pulled if o.external_id == str(order["id"])]
    assert mine.topic == "order.updated" and mine.version == order["date_modified_gmt"]
    assert woocommerce.interpret(mine.topic, json.dumps(mine.doc).encode()) == action

    site.shop.change_status(order["id"], "processing")  # the customer paid
    await eventually(lambda: len(receiver.received) >= 2, timeout=10)
    updated = receiver.received[1]
    paid = woocommerce_delivery(updated.headers, updated.body, [SECRET])
    assert paid is not None and paid.topic == "order.updated"
    paid_action = woocommerce.interpret(paid.topic, paid.body)
    assert isinstance(paid_action, CreateOrder) and not paid_action.awaiting_payment


async def test_a_webhook_disabled_by_failed_deliveries_is_reactivated(
    site: Site, sink: tuple[Sink, str]
) -> None:
    receiver, callback = sink
    receiver.status = 500
    await site.client.subscribe_webhooks(callback)
    for _ in range(7):
        site.shop.place_order([{"sku": "MUG-12OZ"}])
    await site.shop.drain()
    created = next(h for h in site.shop.snapshot()["webhooks"] if h["topic"] == "order.created")
    assert created["status"] == "disabled"  # more than five failures, as WooCommerce does
    await site.client.subscribe_webhooks(callback)
    hooks = site.shop.snapshot()["webhooks"]
    assert len(hooks) == 3 and {h["status"] for h in hooks} == {"active"}

    without = site.connect(webhook_secret="")
    with pytest.raises(ShopRequestError) as err:
        await without.subscribe_webhooks(callback)
    await without.aclose()
    assert err.value.code == "oms_webhook_secret_missing"


async def test_a_trashed_order_is_delivered_as_deleted_and_cancels(
    site: Site, sink: tuple[Sink, str]
) -> None:
    receiver, callback = sink
    await site.client.subscribe_webhooks(callback)
    order = site.shop.place_order([{"sku": "TSHIRT-M"}])
    async with httpx.AsyncClient(base_url=site.url, auth=site_auth(site)) as http:
        trashed = await http.delete(f"/wp-json/wc/v3/orders/{order['id']}")
        assert trashed.status_code == 200
        again = await http.delete(f"/wp-json/wc/v3/orders/{order['id']}")
        assert (
            again.status_code == 410 and again.json()["code"] == "woocommerce_rest_already_trashed"
        )
    await eventually(lambda: len(receiver.received) >= 2, timeout=10)
    deleted = next(
        r for r in receiver.received if r.headers["x-wc-webhook-topic"] == "order.deleted"
    )
    delivery = woocommerce_delivery(deleted.headers, deleted.body, [SECRET])
    assert delivery is not None and json.loads(delivery.body) == {"id": order["id"]}
    assert woocommerce.interpret(delivery.topic, delivery.body) == CancelOrder(
        str(order["id"]), "deleted on WooCommerce"
    )

"""The whole loop with a WooCommerce site, through the API alone: connect the sandbox site (a
local server speaking REST v3), sync its listings, take orders by its signed webhooks, and see
at the site the tracking note and completion after shipping, and the stock equal to our ATP.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from domain.models import order_id_for
from sandbox.woocommerce_shop import WooShop, create_app
from tests.conftest import Stack, running_stack
from tests.helpers import eventually
from tests.integrations.channels.woo_sandbox import bound_socket, serving, url_of
from workers.seed import SKUS

SECRET = "wc_loop_secret"


@pytest.fixture
async def loop(temporal_client: Client, tmp_path: Path) -> AsyncIterator[tuple[Stack, WooShop]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with running_stack(temporal_client, url, data_dir=tmp_path) as stack:
        sock = bound_socket()
        # The site delivers its webhooks into this stack's API (as over the internet).
        shop = WooShop(
            site_url=url_of(sock),
            requests_per_second=None,
            delivery_transport=httpx.ASGITransport(app=stack.app),
        )
        # Ids of its own per test: the tests share one Temporal server, where an order's
        # workflow id is its channel and order id.
        shop.store.state.next_id = secrets.randbelow(10**9) * 1000
        shop.seed(WooShop.demo_products([s[0] for s in SKUS], stock=5))
        async with serving(create_app(shop), sock):
            yield stack, shop
            await shop.drain()


async def _connect(stack: Stack, shop: WooShop) -> dict[str, Any]:
    created = await stack.post(
        "/v1/channel-connections",
        {
            "connection_id": "woo-main",
            "channel": "woocommerce",
            "base_url": shop.site_url,
            "credentials": {
                "consumer_key": shop.consumer_key,
                "consumer_secret": shop.consumer_secret,
                "webhook_secret": SECRET,
            },
        },
    )
    assert created.status_code == 201, created.text
    assert "credentials" not in created.json()
    synced = await stack.post("/v1/channel-connections/woo-main/sync", {})
    assert synced.status_code == 200, synced.text
    return synced.json()["listings"]  # type: ignore[no-any-return]


async def _order_of(stack: Stack, external_id: int, channel: str = "woocommerce") -> dict[str, Any]:
    found = await stack.get(f"/v1/orders/{order_id_for(channel, str(external_id))}")
    return found.json() if found.status_code == 200 else {}  # type: ignore[no-any-return]


def _site_order(shop: WooShop, order_id: int) -> dict[str, Any]:
    return next(o for o in shop.snapshot()["orders"] if o["id"] == order_id)


def _site_stock(shop: WooShop, sku: str) -> int | None:
    return next(p["stock_quantity"] for p in shop.snapshot()["products"] if p["sku"] == sku)


async def _atp(stack: Stack, sku: str) -> int:
    return int((await stack.get(f"/v1/inventory/{sku}")).json()["available"])


async def test_connect_sync_order_ship_and_stock(loop: tuple[Stack, WooShop]) -> None:
    stack, shop = loop
    listings = await _connect(stack, shop)
    assert listings["mapped"] == len(SKUS)
    assert listings["unmapped"] == 1  # the variation without a SKU: listed, never guessed
    assert listings["webhooks"]
    [gift] = (await stack.get("/v1/channel-connections/woo-main/listings?mapped=false")).json()
    mapped = await stack.put(
        f"/v1/channel-connections/woo-main/listings/{gift['listing_id']}", {"sku": "TOTE-CNV"}
    )
    assert mapped.status_code == 200 and mapped.json()["mapped_by"] == "manual"

    # The site shows our ATP for every mapped SKU (one stock level per site).
    for sku in ("TSHIRT-M", "MUG-12OZ"):
        atp = await _atp(stack, sku)
        await eventually(lambda s=sku: _site_stock(shop, s), until=lambda v, a=atp: v == a)

    parent, variation = int(gift["parent_id"]), int(gift["listing_id"])
    placed = shop.place_order(
        [
            {"sku": "TSHIRT-M", "quantity": 1},
            {"product_id": parent, "variation_id": variation, "quantity": 1},
        ],
        status="processing",
    )
    order = await eventually(
        lambda: _order_of(stack, placed["id"]),
        until=lambda o: o.get("status") in ("shipped", "delivered", "completed"),
        timeout=90,
    )
    detail = order
    assert sorted(x["sku"] for x in detail["lines"]) == ["TOTE-CNV", "TSHIRT-M"]
    tracking = [s["tracking_number"] for s in detail["shipments"] if s["tracking_number"]]
    site_order = await eventually(
        lambda: _site_order(shop, placed["id"]),
        until=lambda o: (
            o["status"] == "completed"
            and all(any(t in n["note"] for n in o["notes"]) for t in tracking)
        ),
        timeout=60,
        message=lambda o: str(o and o["notes"]),
    )
    assert any(n["customer_note"] for n in site_order["notes"])
    atp = await _atp(stack, "TSHIRT-M")
    await eventually(lambda: _site_stock(shop, "TSHIRT-M"), until=lambda v: v == atp, timeout=30)
    health = (await stack.get("/v1/channel-connections/woo-main")).json()["health"]
    assert health["last_sync_at"] and health["last_error"] is None


async def test_unpaid_order_waits_for_payment_and_a_site_cancel_cancels(
    loop: tuple[Stack, WooShop],
) -> None:
    stack, shop = loop
    await _connect(stack, shop)
    pending = shop.place_order([{"sku": "CAP-BLK", "quantity": 1}], status="pending")
    waiting = await eventually(
        lambda: _order_of(stack, pending["id"]),
        until=lambda o: o.get("status") == "awaiting_payment",
    )
    assert not any(s["status"] == "shipped" for s in waiting["shipments"])
    shop.change_status(pending["id"], "processing")  # paid at the site
    await eventually(
        lambda: _order_of(stack, pending["id"]),
        until=lambda o: o.get("status") in ("shipped", "delivered", "completed"),
        timeout=90,
    )

    doomed = shop.place_order([{"sku": "BEANIE", "quantity": 1}], status="on-hold")
    await eventually(
        lambda: _order_of(stack, doomed["id"]),
        until=lambda o: o.get("status") == "awaiting_payment",
    )
    shop.change_status(doomed["id"], "cancelled")
    await eventually(
        lambda: _order_of(stack, doomed["id"]), until=lambda o: o.get("status") == "cancelled"
    )


async def test_a_missed_webhook_is_found_by_the_reconciliation_pull(
    loop: tuple[Stack, WooShop],
) -> None:
    stack, shop = loop
    await _connect(stack, shop)
    # Webhooks off at the site: the order is only found by reading the site's orders.
    for hook in shop.store.state.webhooks.values():
        hook["status"] = "paused"
    placed = shop.place_order([{"sku": "SOCKS-3PK", "quantity": 2}], status="processing")
    pulled = await stack.post("/v1/channel-connections/woo-main/sync?orders=true", {})
    assert pulled.status_code == 200, pulled.text
    assert pulled.json()["orders"]["orders"]["accepted"] >= 1
    await eventually(lambda: _order_of(stack, placed["id"]), until=lambda o: bool(o))


async def test_a_returned_parcel_tells_the_site_what_to_refund(loop: tuple[Stack, WooShop]) -> None:
    stack, shop = loop
    await _connect(stack, shop)
    placed = shop.place_order([{"sku": "MUG-12OZ", "quantity": 1}], status="processing")
    order = await eventually(
        lambda: _order_of(stack, placed["id"]),
        until=lambda o: o.get("status") == "delivered",
        timeout=90,
    )
    [line] = order["lines"]
    rma = await stack.post(
        f"/v1/orders/{order['order_id']}/returns",
        {"lines": [{"line_id": line["line_id"], "quantity": 1, "reason": "style"}]},
    )
    assert rma.status_code in (200, 201), rma.text
    received = await stack.post(
        f"/v1/returns/{rma.json()['rma_id']}/receive",
        {"lines": [{"line_id": line["line_id"], "quantity": 1, "condition": "new"}]},
    )
    assert received.status_code in (200, 202), received.text
    # Paid at the site: the site refunds the customer, and its order says how much (the whole
    # order came back: the 10.00 mug and its 10.00 shipping).
    rma_id = rma.json()["rma_id"]
    await eventually(
        lambda: _site_order(shop, placed["id"]),
        until=lambda o: any(
            rma_id in n["note"] and "refund 20.00 USD" in n["note"] for n in o["notes"]
        ),
        timeout=60,
        message=lambda o: str(o and o["notes"]),
    )

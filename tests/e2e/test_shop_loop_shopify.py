"""The whole loop with a Shopify store, through the API alone, as a new user: create SKUs, import
stock by CSV, connect the sandbox store (a local server speaking the GraphQL Admin API), sync
its listings, take orders by its signed webhooks, and see at the store the fulfilment with its
tracking number and the inventory level equal to our ATP for the mapped location.
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
from sandbox.shopify_shop import ShopifyShop, create_app
from tests.conftest import Stack, running_stack
from tests.e2e.test_shop_loop_woocommerce import _order_of as _order_by
from tests.helpers import eventually
from tests.integrations.channels.woo_sandbox import bound_socket, serving, url_of

SECRET = "shpss_loop_secret"
TOKEN = "shpat_loop_token"
NEW_SKUS = ["LAMP-OAK", "LAMP-WAL"]


@pytest.fixture
async def store(
    temporal_client: Client, tmp_path: Path
) -> AsyncIterator[tuple[Stack, ShopifyShop, httpx.AsyncClient]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    api_sock = bound_socket()  # the store delivers webhooks to our public URL: a real port
    async with running_stack(
        temporal_client, url, data_dir=tmp_path, public_url=url_of(api_sock)
    ) as stack:
        shop = ShopifyShop(
            domain="loop-test.myshopify.com", webhook_secret=SECRET, access_token=TOKEN
        )
        # Ids of its own per test (the tests share one Temporal server, where an order's
        # workflow id is its channel and order id).
        shop.state["next_id"] = secrets.randbelow(10**9) * 1000
        products = [
            {"sku": s, "title": f"Lamp {s[-3:]}", "price": "80.00", "available": 3}
            for s in NEW_SKUS
        ]
        shop.seed([*products, {"sku": "CAP-BLK", "title": "Cap", "price": "24.00", "available": 1}])
        shop_sock = bound_socket()
        async with (
            serving(stack.app, api_sock),
            serving(create_app(shop), shop_sock),
            httpx.AsyncClient(base_url=url_of(shop_sock)) as controls,
        ):
            yield stack, shop, controls


async def _catalogue_and_stock(stack: Stack) -> None:
    """A new merchant's catalogue: one SKU by PUT, the rest by CSV, stock by a cycle count."""
    one = await stack.put(
        f"/v1/skus/{NEW_SKUS[0]}", {"name": "Oak lamp", "price": "80.00", "weight_grams": 2400}
    )
    assert one.status_code == 201, one.text
    csv = "sku,name,price,weight_grams\n" + f"{NEW_SKUS[1]},Walnut lamp,80.00,2400\n"
    imported = await stack.http.post(
        "/v1/skus/import",
        content=csv.encode(),
        headers={**stack.headers(), "content-type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    counts = "sku,location_id,on_hand\n" + "".join(
        f"{sku},WH-EAST,7\n{sku},WH-WEST,4\n" for sku in NEW_SKUS
    )
    counted = await stack.http.post(
        "/v1/inventory/import",
        content=counts.encode(),
        headers={**stack.headers(), "content-type": "text/csv"},
    )
    assert counted.status_code == 200, counted.text


async def _connect(stack: Stack, shop: ShopifyShop, controls: httpx.AsyncClient) -> list[str]:
    locations = [str(x["id"]) for x in (await controls.get("/_sandbox/state")).json()["locations"]]
    created = await stack.post(
        "/v1/channel-connections",
        {
            "connection_id": "acme",
            "channel": "shopify",
            "base_url": str(controls.base_url),
            "credentials": {"access_token": TOKEN, "webhook_secret": SECRET},
            "options": {
                "shop": "loop-test",
                "location_map": {locations[0]: ["WH-EAST"], locations[1]: ["WH-WEST"]},
            },
        },
    )
    assert created.status_code == 201, created.text
    assert "credentials" not in created.json()
    synced = await stack.post("/v1/channel-connections/acme/sync", {})
    assert synced.status_code == 200, synced.text
    listings = synced.json()["listings"]
    assert listings["mapped"] == 3 and listings["unmapped"] == 0
    assert listings["webhooks"]
    return locations


async def _level(controls: httpx.AsyncClient, sku: str, location: str) -> int | None:
    levels = (await controls.get("/_sandbox/inventory", params={"sku": sku})).json()["levels"]
    return next((x["available"] for x in levels if str(x["location_id"]) == location), None)


async def _atp_at(stack: Stack, sku: str, location: str) -> int:
    doc = (await stack.get(f"/v1/inventory/{sku}")).json()
    return sum(x["available"] for x in doc["locations"] if x["location_id"] == location)


async def _order(stack: Stack, shop_order_id: int) -> dict[str, Any]:
    return await _order_by(stack, shop_order_id, channel="shopify")


async def test_new_merchant_connects_shopify_and_the_loop_closes(
    store: tuple[Stack, ShopifyShop, httpx.AsyncClient],
) -> None:
    stack, shop, controls = store
    await _catalogue_and_stock(stack)
    east, west = await _connect(stack, shop, controls)
    for sku in NEW_SKUS:
        for ours, theirs in (("WH-EAST", east), ("WH-WEST", west)):
            atp = await _atp_at(stack, sku, ours)
            await eventually(
                lambda s=sku, t=theirs: _level(controls, s, t), until=lambda v, a=atp: v == a
            )

    placed = await controls.post(
        "/_sandbox/orders",
        json={"lines": [{"sku": NEW_SKUS[0], "quantity": 2}], "financial_status": "paid"},
    )
    assert placed.status_code == 201, placed.text
    shop_order = placed.json()["order"]["id"]
    order = await eventually(
        lambda: _order(stack, shop_order),
        until=lambda o: o.get("status") in ("shipped", "delivered", "completed"),
        timeout=90,
    )
    assert order["order_id"] == order_id_for("shopify", str(shop_order))
    tracking = {s["tracking_number"] for s in order["shipments"] if s["tracking_number"]}
    fulfilled = await eventually(
        lambda: controls.get("/_sandbox/fulfillments"),
        until=lambda r: (
            tracking
            <= {
                t
                for f in r.json()["fulfillments"]
                if f["order_id"] == shop_order
                for t in f["tracking_numbers"]
            }
        ),
        timeout=60,
    )
    [fulfilment] = [f for f in fulfilled.json()["fulfillments"] if f["order_id"] == shop_order]
    assert fulfilment["tracking_company"] and fulfilment["tracking_url"].endswith(tracking.pop())
    for ours, theirs in (("WH-EAST", east), ("WH-WEST", west)):
        atp = await _atp_at(stack, NEW_SKUS[0], ours)
        await eventually(
            lambda t=theirs: _level(controls, NEW_SKUS[0], t), until=lambda v, a=atp: v == a
        )


async def test_pending_order_ships_only_when_paid_and_a_store_cancel_cancels(
    store: tuple[Stack, ShopifyShop, httpx.AsyncClient],
) -> None:
    stack, shop, controls = store
    await _catalogue_and_stock(stack)
    await _connect(stack, shop, controls)
    placed = await controls.post(
        "/_sandbox/orders",
        json={"lines": [{"sku": NEW_SKUS[1], "quantity": 1}], "financial_status": "pending"},
    )
    pending = placed.json()["order"]["id"]
    waiting = await eventually(
        lambda: _order(stack, pending), until=lambda o: o.get("status") == "awaiting_payment"
    )
    assert not any(s["status"] in ("released", "shipped") for s in waiting["shipments"])
    assert not (await controls.get("/_sandbox/fulfillments")).json()["fulfillments"]
    await controls.post(f"/_sandbox/orders/{pending}/paid")
    await eventually(
        lambda: _order(stack, pending),
        until=lambda o: o.get("status") in ("shipped", "delivered", "completed"),
        timeout=90,
    )

    placed = await controls.post(
        "/_sandbox/orders",
        json={"lines": [{"sku": "CAP-BLK", "quantity": 1}], "financial_status": "pending"},
    )
    doomed = placed.json()["order"]["id"]
    await eventually(
        lambda: _order(stack, doomed), until=lambda o: o.get("status") == "awaiting_payment"
    )
    held = (await stack.get("/v1/inventory/CAP-BLK")).json()["available"]
    await controls.post(f"/_sandbox/orders/{doomed}/cancel", json={"reason": "customer"})
    cancelled = await eventually(
        lambda: _order(stack, doomed), until=lambda o: o.get("status") == "cancelled"
    )
    assert not any(s["tracking_number"] for s in cancelled["shipments"])
    # The unit it held is back on offer.
    assert (await stack.get("/v1/inventory/CAP-BLK")).json()["available"] == held + 1


async def test_we_cancel_and_the_store_hears(
    store: tuple[Stack, ShopifyShop, httpx.AsyncClient],
) -> None:
    stack, shop, controls = store
    await _catalogue_and_stock(stack)
    await _connect(stack, shop, controls)
    placed = await controls.post(
        "/_sandbox/orders",
        json={"lines": [{"sku": NEW_SKUS[0], "quantity": 1}], "financial_status": "pending"},
    )
    shop_order = placed.json()["order"]["id"]
    order = await eventually(
        lambda: _order(stack, shop_order), until=lambda o: o.get("status") == "awaiting_payment"
    )
    cancelled = await stack.post(
        f"/v1/orders/{order['order_id']}/cancel", {"reason": "fraud check"}
    )
    assert cancelled.status_code == 200, cancelled.text
    await eventually(
        lambda: controls.get(f"/_sandbox/orders/{shop_order}"),
        until=lambda r: r.json()["order"].get("cancelled_at") is not None,
    )

"""The sandbox WooCommerce site's `/_sandbox` controls, as the demo and other tests drive them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from integrations.channels.shop import ShopUnavailable
from integrations.channels.woocommerce_rest import WooCommerceClient
from sandbox.woocommerce_shop import WooShop, create_app, serve
from tests.helpers import eventually
from tests.integrations.channels.woo_sandbox import OUR_SKUS, bound_socket, serving, url_of


@pytest.fixture
async def http() -> AsyncIterator[tuple[httpx.AsyncClient, WooShop]]:
    sock = bound_socket()
    shop = WooShop(site_url=url_of(sock), requests_per_second=None)
    async with serving(create_app(shop), sock), httpx.AsyncClient(base_url=url_of(sock)) as c:
        yield c, shop
        await shop.drain()


async def test_seed_place_pay_cancel_and_read_state(
    http: tuple[httpx.AsyncClient, WooShop],
) -> None:
    client, shop = http
    seeded = await client.post(
        "/_sandbox/seed",
        json={
            "products": [
                "MUG-12OZ",
                {"sku": "TSHIRT-S", "variable_of": "T-shirt", "options": {"Size": "S"}, "stock": 5},
                {"sku": "", "variable_of": "T-shirt", "options": {"Size": "XL"}, "stock": 2},
            ]
        },
    )
    assert seeded.status_code == 201
    mug, small, skuless = seeded.json()["listings"]
    assert small["parent_id"] == skuless["parent_id"] and mug["parent_id"] is None

    placed = await client.post(
        "/_sandbox/orders",
        json={
            "lines": [
                {"sku": "TSHIRT-S", "quantity": 2},
                {"product_id": skuless["parent_id"], "variation_id": skuless["listing_id"]},
            ],
            "status": "pending",
            "shipping": {"first_name": "Ann", "last_name": "Lee", "city": "Austin", "state": "TX"},
        },
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert [(x["sku"], x["variation_id"]) for x in order["line_items"]] == [
        ("TSHIRT-S", small["listing_id"]),
        ("", skuless["listing_id"]),
    ]
    assert order["shipping"]["city"] == "Austin" and order["status"] == "pending"

    def stock(state: dict[str, object], listing_id: int) -> object:
        products = state["products"]
        assert isinstance(products, list)
        return next(p["stock_quantity"] for p in products if p["id"] == listing_id)

    state = (await client.get("/_sandbox/state")).json()
    assert stock(state, small["listing_id"]) == 5  # unpaid: stock not reduced yet
    paid = await client.post(f"/_sandbox/orders/{order['id']}/pay")
    assert paid.json()["status"] == "processing" and paid.json()["date_paid_gmt"]
    state = (await client.get("/_sandbox/state")).json()
    assert stock(state, small["listing_id"]) == 3 and stock(state, skuless["listing_id"]) == 1
    again = await client.post(f"/_sandbox/orders/{order['id']}/pay")
    assert again.status_code == 400 and again.json()["code"] == "sandbox_not_payable"

    cancelled = await client.post(f"/_sandbox/orders/{order['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    state = (await client.get("/_sandbox/state")).json()
    assert stock(state, small["listing_id"]) == 5
    (row,) = state["orders"]
    assert row["status"] == "cancelled"
    assert [n["note"] for n in row["notes"]] == [
        "Order status changed from processing to cancelled.",
        "Order status changed from pending to processing.",
    ]

    unknown = await client.post("/_sandbox/orders", json={"lines": [{"sku": "NOPE"}]})
    assert unknown.status_code == 400 and unknown.json()["data"] == {"status": 400}

    throttled = await client.post("/_sandbox/throttle", json={"requests": 1, "retry_after_s": 3})
    assert throttled.status_code == 201
    auth = httpx.BasicAuth(shop.consumer_key, shop.consumer_secret)
    limited = await client.get("/wp-json/wc/v3/orders", auth=auth)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert (await client.get("/wp-json/wc/v3/orders", auth=auth)).status_code == 200


async def test_state_persists_to_a_json_file(tmp_path: Any) -> None:
    path = tmp_path / "woo.json"
    shop = WooShop(state_path=path)
    listings = shop.seed(WooShop.demo_products(OUR_SKUS))
    order = shop.place_order([{"sku": "TSHIRT-M"}], status="on-hold")
    again = WooShop(state_path=path)
    assert again.orders.order(order["id"])["status"] == "on-hold"
    assert again.snapshot()["products"] == shop.snapshot()["products"]
    # A restarted demo seeds again: the same items come back, nothing is doubled.
    assert again.seed(WooShop.demo_products(OUR_SKUS)) == listings
    assert len(again.snapshot()["products"]) == len(shop.snapshot()["products"])


async def test_serve_runs_the_site_with_uvicorn() -> None:
    sock = bound_socket()
    port = sock.getsockname()[1]
    sock.close()
    shop = WooShop(site_url=f"http://127.0.0.1:{port}", site_name="Served")
    task = asyncio.create_task(serve(shop, "127.0.0.1", port))
    client = WooCommerceClient(shop.site_url, shop.consumer_key, shop.consumer_secret)

    async def name() -> str | None:
        try:
            return (await client.locations())[0].name
        except ShopUnavailable:
            return None

    try:
        assert await eventually(name, until=lambda n: n == "Served", timeout=10) == "Served"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.aclose()


def test_demo_catalogue_always_has_one_skuless_variation() -> None:
    grouped = WooShop().seed(WooShop.demo_products(OUR_SKUS))
    (skuless,) = [x for x in grouped if not x["sku"]]
    tshirts = {x["parent_id"] for x in grouped if x["sku"].startswith("TSHIRT-")}
    assert tshirts == {skuless["parent_id"]}  # a Gift variation of the T-shirt
    flat = WooShop().seed(WooShop.demo_products(["MUG-12OZ", "BEANIE"]))
    assert [bool(x["sku"]) for x in flat] == [True, True, False]
    assert flat[2]["parent_id"] is not None
